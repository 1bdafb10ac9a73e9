// Preloaded into a gateway process (NODE_OPTIONS=--require) by test/db/start-up-modules.test.ts:
// on SIGUSR2, writes the path of every CommonJS module loaded so far to LOADED_MODULES_FILE.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('SIGUSR2', () => {
  writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify(Object.keys(require.cache)));
});
