// The import direction of src/ (docs/architecture.md): every import points down this list,
// or stays within its layer.
//   entry   main.ts, app.ts, modules.ts, cli/        wire everything together
//   server  server/                                  HTTP, WebSocket, GraphQL context
//   domain  modules/, chat/, audit/, auth/, limits/, catalog/, observability/
//   infra   vault/, providers/, db/, cache/
//   common  common/, config.ts
const ENTRY = '^src/(main|app|modules)\\.ts$|^src/cli/';
const SERVER = '^src/server/';
const DOMAIN = '^src/(modules|chat|audit|auth|limits|catalog|observability)/';
const INFRA = '^src/(vault|providers|db|cache)/';

const forbid = (name, from, to) => ({
  name,
  severity: 'error',
  comment: `${name}: an import pointing up the layers (see docs/architecture.md)`,
  from: { path: from },
  to: { path: to },
});

module.exports = {
  forbidden: [
    forbid('common-imports-above', '^src/common/|^src/config\\.ts$', `${ENTRY}|${SERVER}|${DOMAIN}|${INFRA}`),
    forbid('infra-imports-above', INFRA, `${ENTRY}|${SERVER}|${DOMAIN}`),
    forbid('domain-imports-above', DOMAIN, `${ENTRY}|${SERVER}`),
    forbid('server-imports-entry', SERVER, ENTRY),
    {
      name: 'no-circular-layers',
      severity: 'error',
      comment: 'a resolver never lives in vault/',
      from: { path: '^src/vault/' },
      to: { path: '\\.resolver\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
