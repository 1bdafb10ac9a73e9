import 'reflect-metadata';
import { Gateway } from './app';
import type { BootstrapResult } from './auth/bootstrap';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './common/logger';

/** After a second signal, the longest the process waits for open streams to be recorded and the database closed. */
const HURRIED_STOP_LIMIT_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`keyward: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const gateway = await Gateway.start({ config, log, onBootstrap: printBootstrapToken });
  log.info({ url: gateway.url, console: gateway.consoleUrl }, `Keyward listening on ${gateway.url}`);
  // Plain text, so the address to open stands out of the JSON log lines.
  process.stdout.write(`\nWeb console: ${gateway.consoleUrl}\n`);
  if (gateway.bootstrap.kind === 'generated') {
    process.stdout.write(
      `Sign in there with the bootstrap token printed above. From a shell:\n` +
        `curl -s ${gateway.url} -H 'content-type: application/json' ` +
        `-H 'authorization: Bearer ${gateway.bootstrap.token}' -d '{"query":"{ me { email role } }"}'\n\n`,
    );
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      log.info({ signal }, 'shutting down: draining requests');
      gateway.stop().then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    } else if (signals === 2) {
      log.warn(
        { signal },
        'second signal: ending open chat streams now (their usage and replies are recorded), then exiting',
      );
      gateway.hurry();
      setTimeout(() => {
        log.error('shutdown did not finish in time: exiting');
        process.exit(1);
      }, HURRIED_STOP_LIMIT_MS).unref();
    } else {
      log.warn({ signal }, 'third signal: exiting now');
      process.exit(1);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Printed before the port is bound, so a first start that fails there still shows the token.
 * Deliberately outside the logger: shown once, and the logger would redact it.
 */
function printBootstrapToken(bootstrap: BootstrapResult): void {
  if (bootstrap.kind !== 'generated') return;
  process.stdout.write(
    `\nBootstrap PLATFORM_ADMIN token (shown once, store it now; sign in to the web console with it):\n\n  ${bootstrap.token}\n\n` +
      `Lost it? \`node dist/src/cli/keyward.js admin-token\` issues another (see README).\n\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`keyward: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
