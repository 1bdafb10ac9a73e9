import 'reflect-metadata';
import { Gateway } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './common/logger';

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
  const gateway = await Gateway.start({ config, log });
  log.info({ url: gateway.url, console: gateway.consoleUrl }, `Keyward listening on ${gateway.url}`);
  // Plain text, so the address to open stands out of the JSON log lines.
  process.stdout.write(`\nWeb console: ${gateway.consoleUrl}\n`);
  if (gateway.bootstrap.kind === 'generated') {
    // Deliberately outside the logger: shown once, and the logger would redact it.
    process.stdout.write(
      `\nBootstrap PLATFORM_ADMIN token (shown once, store it now; sign in to ${gateway.consoleUrl} with it):\n\n  ${gateway.bootstrap.token}\n\n` +
        `Try: curl -s ${gateway.url} -H 'content-type: application/json' ` +
        `-H 'authorization: Bearer ${gateway.bootstrap.token}' -d '{"query":"{ me { email role } }"}'\n\n`,
    );
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
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
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((error: unknown) => {
  process.stderr.write(`keyward: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
