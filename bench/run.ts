/** `npm run bench`: runs every compiled bench beside this file, one process each, in name order. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const benches = readdirSync(__dirname)
  .filter((file) => file.endsWith('.js') && file !== 'run.js')
  .sort();
let failed = 0;
for (const file of benches) {
  process.stderr.write(`\n== ${file}\n`);
  const { status } = spawnSync(process.execPath, [join(__dirname, file)], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
