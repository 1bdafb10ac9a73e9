import { SingleBar, Presets } from 'cli-progress';
import { AuditLog } from '../audit/audit-log';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { Config } from '../config';
import { AuditKeyService } from '../vault/audit-key.service';
import { DataKeyCache } from '../vault/data-key-cache';
import { DataKeyService } from '../vault/data-key.service';
import { createKeyrings } from '../vault/keyring/create-keyrings';
import { cliLogger, withDatabase } from './cli-database';

/** `keyward rewrap`: the rewrapDataKeys mutation for large installations, with a progress bar. */
export async function runRewrap(config: Config): Promise<number> {
  const log = cliLogger(config);
  const keyrings = await createKeyrings(config, log);
  return withDatabase(config, log, async (orm) => {
    const auditKeys = new AuditKeyService(keyrings, new DataKeyCache(config.dataKeyCache), log);
    const dataKeys = new DataKeyService(keyrings, new DataKeyCache(config.dataKeyCache), log, auditKeys);
    const em = orm.em.fork();
    const total = await dataKeys.countStale(em);
    process.stderr.write(
      `${total} data key(s) to re-wrap under ${keyrings.current.kind} (${keyrings.current.masterKeyId})\n`,
    );
    const bar = new SingleBar({ stream: process.stderr, etaBuffer: 50 }, Presets.shades_classic);
    bar.start(total, 0);
    let done = 0;
    let outcome = AuditOutcome.SUCCESS;
    try {
      done = await dataKeys.rewrapAll(em, (progress) => {
        done = progress.done;
        bar.update(progress.done);
      });
    } catch (error) {
      outcome = AuditOutcome.FAILURE;
      throw error;
    } finally {
      bar.stop();
      await new AuditLog(orm.em, log, auditKeys).append({
        tenantId: null,
        action: 'datakey.rewrap',
        targetType: 'keyring',
        targetId: keyrings.current.kind,
        outcome,
        detail: { rewrapped: done, via: 'cli' },
      });
    }
    process.stdout.write(`re-wrapped ${done} data key(s)\n`);
    return 0;
  });
}
