// Builds the web console into dist/console: types its GraphQL operations from schema.graphql
// (gql.tada), validates them and type-checks the console (a schema change that breaks it fails
// here), then bundles it with Vite. Skipped when nothing it is built from changed since the
// last build, so a start after no change stays fast. `--force` always builds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const consoleDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(consoleDir);
const outDir = join(root, 'dist', 'console');
const stampFile = join(outDir, '.build-hash');
const generated = join(consoleDir, 'src', 'graphql-env.d.ts');

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** Everything the output depends on: the console's sources, the schema and the locked dependencies. */
function inputsHash() {
  const inputs = [
    ...filesUnder(consoleDir).filter((path) => path !== generated),
    join(root, 'schema.graphql'),
    join(root, 'package-lock.json'),
  ].sort();
  const hash = createHash('sha256');
  for (const path of inputs) hash.update(relative(root, path)).update('\0').update(readFileSync(path)).update('\0');
  return hash.digest('hex');
}

function run(command, args, cwd = consoleDir) {
  const result = spawnSync(join(root, 'node_modules', '.bin', command), args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`console build: ${command} ${args.join(' ')} failed`);
    process.exit(result.status ?? 1);
  }
}

const hash = inputsHash();
const force = process.argv.includes('--force');
if (
  !force &&
  existsSync(stampFile) &&
  existsSync(join(outDir, 'index.html')) &&
  readFileSync(stampFile, 'utf8') === hash
) {
  process.exit(0);
}

const started = Date.now();
run('gql.tada', ['generate', 'output']);
run('gql.tada', ['check', '--fail-on-warn']);
run('tsc', ['-p', 'tsconfig.json']);

const { build } = await import('vite');
await build({
  root: consoleDir,
  configFile: false,
  logLevel: 'warn',
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});

const assets = join(outDir, 'assets');
const sizes = readdirSync(assets).map((name) => {
  const bytes = readFileSync(join(assets, name));
  return { name, raw: statSync(join(assets, name)).size, gzip: gzipSync(bytes, { level: 9 }).length };
});
const js = sizes.filter((file) => file.name.endsWith('.js'));
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const jsGzip = js.reduce((sum, file) => sum + file.gzip, 0);
writeFileSync(stampFile, hash);
console.log(
  `console built into ${relative(root, outDir)} in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
    sizes.map((file) => `${file.name} ${kb(file.raw)} (${kb(file.gzip)} gzipped)`).join(', ') +
    `; JavaScript ${kb(jsGzip)} gzipped`,
);
