import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEventEntity } from '../audit/audit-event.entity';
import { chainOf } from '../audit/audit-log';
import { parseExpectedHead, readChainHead, verifyChain, type ExpectedHead } from '../audit/audit-verifier';
import type { Config } from '../config';
import { auditKeysFor, cliLogger, withDatabase } from './cli-database';
import { requireKnownTenant } from './tenant-option';

/** The audit chains' keys, through the configured keyring (the same as the server's). */

const allChains = async (em: EntityManager): Promise<string[]> =>
  (
    await em.getConnection().execute<Array<{ chain: string }>>('select chain from audit_chain_heads order by chain')
  ).map((row) => row.chain);

/** `<chain>:<seq>:<hash>`, as `keyward audit head` prints it in `anchor`. */
export function parseAnchor(anchor: string): { chain: string; expected: ExpectedHead } {
  const match = /^([^:]+):([^:]+):([^:]+)$/.exec(anchor.trim());
  if (!match)
    throw new Error('--expect-head must be <chain>:<seq>:<hash>, as `keyward audit head` prints it in "anchor"');
  const expected = parseExpectedHead(Number(match[2]), match[3]);
  if (typeof expected === 'string') throw new Error(`--expect-head: ${expected}`);
  return { chain: match[1], expected };
}

/**
 * `keyward audit verify`: one JSON line per chain; exit code 1 if any chain is broken. Each
 * `--expect-head` anchor's chain must still hold the anchored event (so events removed from its
 * end are caught); its chain is verified even when its head row is gone.
 */
export async function runAuditVerify(
  config: Config,
  tenantId?: string,
  anchors: readonly string[] = [],
): Promise<number> {
  const expectations = new Map(
    anchors.map((anchor) => parseAnchor(anchor)).map(({ chain, expected }) => [chain, expected]),
  );
  if (tenantId) {
    const other = [...expectations.keys()].find((chain) => chain !== chainOf(tenantId));
    if (other) throw new Error(`--expect-head names chain ${other}, but --tenant is ${tenantId}`);
  }
  const log = cliLogger(config);
  const keys = await auditKeysFor(config, log);
  return withDatabase(config, log, async (orm) => {
    const em = orm.em.fork();
    if (tenantId) await requireKnownTenant(em, tenantId);
    const chains = tenantId
      ? [chainOf(tenantId)]
      : [...new Set([...(await allChains(em)), ...expectations.keys()])].sort();
    let broken = 0;
    for (const chain of chains) {
      const result = await verifyChain(em.fork(), keys, chain, expectations.get(chain));
      if (!result.ok) broken++;
      process.stdout.write(`${JSON.stringify({ chain, ...result })}\n`);
    }
    return broken === 0 ? 0 : 1;
  });
}

/**
 * `keyward audit head`: one JSON line per chain with its newest seq and hash, and `anchor`
 * (`<chain>:<seq>:<hash>`) to keep outside the database for `audit verify --expect-head`.
 */
export async function runAuditHead(config: Config, tenantId?: string): Promise<number> {
  return withDatabase(config, cliLogger(config), async (orm) => {
    const em = orm.em.fork();
    const chains = tenantId ? [chainOf(tenantId)] : await allChains(em);
    for (const chain of chains) {
      const head = await readChainHead(em.fork(), chain);
      process.stdout.write(`${JSON.stringify({ ...head, anchor: `${head.chain}:${head.seq}:${head.hash}` })}\n`);
    }
    return 0;
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
        ...(lastId ? { $or: [{ at: { $gt: lastAt } }, { at: lastAt, id: { $gt: lastId } }] } : { at: { $gte: from } }),
      };
      const events: AuditEventEntity[] = await em.find(AuditEventEntity, where, {
        orderBy: { at: 'asc', id: 'asc' },
        limit: EXPORT_BATCH,
      });
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
