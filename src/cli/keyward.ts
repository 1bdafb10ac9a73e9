#!/usr/bin/env node
/**
 * The `keyward` command line for operators: serve, admin-token, migrate, rewrap, audit verify/export.
 * Every command reads the same environment as the server (see README, "Configuration").
 */
import 'reflect-metadata';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config';
import { runAdminToken } from './admin-token-command';
import { runAuditExport, runAuditHead, runAuditVerify } from './audit-commands';
import { runMigrate } from './migrate-command';
import { runRewrap } from './rewrap-command';

const program = new Command('keyward').description('Keyward: a GraphQL gateway for LLM provider keys');

program
  .command('serve', { isDefault: true })
  .description('run the gateway (the same as npm start)')
  .action(async () => {
    await import('../main.js');
  });

program
  .command('admin-token')
  .description('issue a new PLATFORM_ADMIN token (audited) and print it once, e.g. when the bootstrap token is lost')
  .action(() => run(runAdminToken));

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(() => run(runMigrate));

program
  .command('rewrap')
  .description("re-wrap every tenant's data keys under the current keyring (resumable; shows progress)")
  .action(() => run(runRewrap));

const audit = program.command('audit').description('audit log tools');
audit
  .command('verify')
  .description('verify the keyed hash chain of every tenant (or one); exits 1 if any is broken')
  .option('--tenant <id>', 'only this tenant')
  .option(
    '--expect-head <anchor>',
    'an anchor printed by `audit head` (<chain>:<seq>:<hash>): that chain must still hold that event (repeatable)',
    (value: string, previous: string[]) => [...previous, value],
    [] as string[],
  )
  .action((options: { tenant?: string; expectHead: string[] }) =>
    run((config) => runAuditVerify(config, options.tenant, options.expectHead)),
  );
audit
  .command('head')
  .description("print each chain's newest seq and hash, and an anchor to keep outside the database")
  .option('--tenant <id>', 'only this tenant')
  .action((options: { tenant?: string }) => run((config) => runAuditHead(config, options.tenant)));
audit
  .command('export')
  .description('write audit events as JSON lines to stdout, oldest first')
  .requiredOption('--since <iso-date>', 'events at or after this time, e.g. 2026-11-01T00:00:00Z')
  .option('--tenant <id>', 'only this tenant')
  .action((options: { since: string; tenant?: string }) =>
    run((config) => runAuditExport(config, options.since, options.tenant)),
  );

async function run(command: (config: ReturnType<typeof loadConfig>) => Promise<number>): Promise<void> {
  try {
    process.exitCode = await command(loadConfig());
  } catch (error) {
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`keyward: ${message}\n`);
    process.exitCode = 2;
  }
}

void program.parseAsync(process.argv);
