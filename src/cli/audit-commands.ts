import type { FilterQuery } from '@mikro-orm/core';
import { AuditEventEntity } from '../audit/audit-event.entity';
import { chainOf } from '../audit/audit-log';
import { verifyChain } from '../audit/audit-verifier';
import type { Config } from '../config';
import { cliLogger, withDatabase } from './cli-database';
import { requireKnownTenant } from './tenant-option';

/** `keyward audit verify`: one JSON line per chain; exit code 1 if any chain is broken. */
export async function runAuditVerify(config: Config, tenantId?: string): Promise<number> {
  return withDatabase(config, cliLogger(config), async (orm) => {
    const em = orm.em.fork();
    if (tenantId) await requireKnownTenant(em, tenantId);
    const chains = tenantId
      ? [chainOf(tenantId)]
      : (await em.getConnection().execute<Array<{ chain: string }>>('select chain from audit_chain_heads order by chain')).map(
          (row) => row.chain,
        );
    let broken = 0;
    for (const chain of chains) {
      const result = await verifyChain(em.fork(), chain);
      if (!result.ok) broken++;
      process.stdout.write(`${JSON.stringify({ chain, ...result })}\n`);
    }
    return broken === 0 ? 0 : 1;
  });
}

const EXPORT_BATCH = 1000;

/** `keyward audit export --since`: JSON lines, oldest first, streamed in batches. */
export async function runAuditExport(config: Config, since: string, tenantId?: string): Promise<number> {
  const from = new Date(since);
  if (Number.isNaN(from.getTime())) throw new Error(`--since must be an ISO date, e.g. 2026-11-01T00:00:00Z`);
  return withDatabase(config, cliLogger(config), async (orm) => {
    if (tenantId) await requireKnownTenant(orm.em.fork(), tenantId);
    let lastId: string | null = null;
    let lastAt = from;
    for (;;) {
      const em = orm.em.fork();
      const where: FilterQuery<AuditEventEntity> = {
        ...(tenantId ? { chain: chainOf(tenantId) } : {}),
        ...(lastId
          ? { $or: [{ at: { $gt: lastAt } }, { at: lastAt, id: { $gt: lastId } }] }
          : { at: { $gte: from } }),
      };
      const events: AuditEventEntity[] = await em.find(AuditEventEntity, where, { orderBy: { at: 'asc', id: 'asc' }, limit: EXPORT_BATCH });
      for (const event of events) {
        const { prevHash: _prev, ...exported } = event;
        process.stdout.write(`${JSON.stringify(exported)}\n`);
      }
      if (events.length < EXPORT_BATCH) return 0;
      lastAt = events[events.length - 1].at;
      lastId = events[events.length - 1].id;
    }
  });
}
