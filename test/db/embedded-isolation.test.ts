import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const compiled = join(root, 'dist/src/db/embedded-postgres.js');

test("connections to the embedded database never see each other's statements or rows", async () => {
  if (!existsSync(compiled)) throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  const directory = mkdtempSync(join(tmpdir(), 'keyward-isolation-'));
  try {
    const { stdout } = await run(
      process.execPath,
      [join(__dirname, 'embedded-isolation.script.js'), compiled, directory],
      {
        cwd: root,
        timeout: 60_000,
      },
    );
    const tally = JSON.parse(stdout) as { ok: number; wrong: number; errors: number; counter: number };
    expect(tally).toEqual({ ok: 8 * 150 + 2 * 60 + 2 * 60, wrong: 0, errors: 0, counter: 2 * 60 });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}, 90_000);
