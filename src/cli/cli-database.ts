import { openDatabase } from '../app';
import { createLogger, type Logger } from '../common/logger';
import type { Config } from '../config';
import { migrate } from '../db/migrate';
import { AuditKeyService } from '../vault/audit-key.service';
import { DataKeyCache } from '../vault/data-key-cache';
import { createKeyrings } from '../vault/keyring/create-keyrings';
import type { MikroORM } from '@mikro-orm/postgresql';

/** Logs go to stderr so a command's stdout stays machine-readable. */
export const cliLogger = (config: Config): Logger =>
  createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr as never);

/** The audit chains' keys, through the configured keyring: audit appends and verification need them. */
export async function auditKeysFor(config: Config, log: Logger): Promise<AuditKeyService> {
  return new AuditKeyService(await createKeyrings(config, log), new DataKeyCache(config.dataKeyCache), log);
}

/** Opens the configured database (migrated unless told not to), runs `use`, and always closes it. */
export async function withDatabase<T>(
  config: Config,
  log: Logger,
  use: (orm: MikroORM) => Promise<T>,
  { migrateFirst = true } = {},
): Promise<T> {
  const { orm, embedded } = await openDatabase(config, log);
  try {
    if (migrateFirst) await migrate(orm);
    return await use(orm);
  } finally {
    await orm.close();
    await embedded?.stop();
  }
}
