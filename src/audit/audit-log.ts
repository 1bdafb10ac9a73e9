import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { runSql } from '../db/sql';
import type { AuditKeyService } from '../vault/audit-key.service';
import { AuditOutcome, GLOBAL_CHAIN } from './audit-event.entity';
import { auditMacMessage, GENESIS_HASH, type HashedContent } from './audit-hash';

export interface AuditRecord {
  tenantId: string | null;
  actorId?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  outcome: AuditOutcome;
  requestId?: string | null;
  ip?: string | null;
  /** Non-secret details, stored as JSON text. */
  detail?: Record<string, unknown> | null;
}

export const chainOf = (tenantId: string | null): string => tenantId ?? GLOBAL_CHAIN;
const tenantOfChain = (chain: string): string | null => (chain === GLOBAL_CHAIN ? null : chain);

/** The first keyed event of a chain that already had (unkeyed) events: says where keying began. */
export const AUDIT_KEY_CREATE = 'audit.key.create';

/**
 * Appends events to per-tenant chains, each event's hash an HMAC-SHA-256 under its chain's
 * audit key (held by the vault) over the previous hash and its content. Each append is its own
 * transaction holding the chain's head row, so concurrent writers get consecutive seqs with no
 * gaps or duplicates. Appending never throws into the caller's request: a failure is logged
 * loudly instead.
 */
export class AuditLog {
  constructor(
    private readonly root: EntityManager,
    private readonly log: Logger,
    private readonly keys: AuditKeyService,
  ) {}

  /**
   * Gives every chain that has no audit key yet (written before chains were keyed) its key,
   * keyed from its next seq, with an audit.key.create event as that first keyed event.
   * Returns the chains keyed now.
   */
  async keyUnkeyedChains(): Promise<string[]> {
    const rows = await runSql<{ chain: string }>(
      this.root.fork(),
      'select head.chain from audit_chain_heads head where not exists (select 1 from audit_keys k where k.chain = head.chain) order by head.chain',
      [],
    );
    for (const { chain } of rows) await this.root.fork().transactional((tx) => this.appendToChains(tx, [], [chain]));
    return rows.map((row) => row.chain);
  }

  async append(record: AuditRecord): Promise<void> {
    try {
      await this.appendOrThrow(record);
    } catch (error) {
      this.log.error({ err: error, action: record.action, tenantId: record.tenantId }, 'AUDIT APPEND FAILED');
    }
  }

  async appendOrThrow(record: AuditRecord): Promise<void> {
    await this.root.fork().transactional((tx) => this.appendWithin(tx, [record]));
  }

  /**
   * Appends inside the caller's transaction, in two statements however many records there
   * are: the chains' heads stay locked until that transaction ends, so keep what follows short.
   * Records of one chain get consecutive seqs in the order given.
   */
  async appendWithin(tx: EntityManager, records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.appendToChains(tx, records, []);
  }

  private async appendToChains(
    tx: EntityManager,
    given: readonly AuditRecord[],
    alsoChains: readonly string[],
  ): Promise<void> {
    // Heads are locked in chain order, so two batches over the same chains cannot deadlock.
    const chains = [...new Set([...given.map((record) => chainOf(record.tenantId)), ...alsoChains])].sort();
    // Keys are unwrapped before the heads are locked, so a keyring call never holds a chain up.
    await this.keys.prefetch(tx, chains);
    const heads = await runSql<{ chain: string; seq: number; hash: string }>(tx, LOCK_HEADS, [GENESIS_HASH, chains]);
    const head = new Map(heads.map((row) => [row.chain, { seq: Number(row.seq), hash: row.hash }]));
    const at = new Date();
    const locked = chains.map((chain) => ({ chain, seq: head.get(chain)!.seq }));
    const events = await this.keys.withChainKeys(tx, locked, (macs, keyed) => {
      // A chain that had unkeyed events says in its first keyed event where keying began.
      const keyCreations: AuditRecord[] = [...keyed]
        .filter(([, keyedFromSeq]) => keyedFromSeq > 1)
        .map(([chain, keyedFromSeq]) => ({
          tenantId: tenantOfChain(chain),
          action: AUDIT_KEY_CREATE,
          targetType: 'audit_chain',
          targetId: chain,
          outcome: AuditOutcome.SUCCESS,
          detail: { keyedFromSeq },
        }));
      return [...keyCreations, ...given].map((record) => {
        const chain = chainOf(record.tenantId);
        const previous = head.get(chain)!;
        const content: HashedContent = {
          chain,
          seq: previous.seq + 1,
          at,
          tenantId: record.tenantId,
          actorId: record.actorId ?? null,
          action: record.action,
          targetType: record.targetType ?? null,
          targetId: record.targetId ?? null,
          outcome: record.outcome,
          requestId: record.requestId ?? null,
          ip: record.ip ?? null,
          detail: record.detail ? JSON.stringify(record.detail) : null,
        };
        const hash = macs.mac(chain, auditMacMessage(previous.hash, content));
        head.set(chain, { seq: content.seq, hash });
        return { ...content, prevHash: previous.hash, hash };
      });
    });
    if (events.length === 0) return;
    const column = <K extends keyof (typeof events)[number]>(key: K) => events.map((event) => event[key]);
    await runSql(tx, INSERT_EVENTS_AND_ADVANCE_HEADS, [
      events.map(() => randomUUID()),
      column('chain'),
      column('seq'),
      column('at'),
      column('tenantId'),
      column('actorId'),
      column('action'),
      column('targetType'),
      column('targetId'),
      column('outcome'),
      column('requestId'),
      column('ip'),
      column('detail'),
      column('prevHash'),
      column('hash'),
      chains,
      chains.map((chain) => head.get(chain)!.seq),
      chains.map((chain) => head.get(chain)!.hash),
    ]);
  }
}

/**
 * Creates each chain's head on first use, locks it (ON CONFLICT DO UPDATE takes the row lock)
 * and returns it, in one round trip.
 */
const LOCK_HEADS = `insert into audit_chain_heads (chain, seq, hash)
  select chain, 0, ?::text from unnest(?::text[]) as heads(chain)
  on conflict (chain) do update set chain = excluded.chain
  returning chain, seq, hash`;

/** The events and the new heads together (columns of AuditEventEntity and AuditChainHeadEntity). */
const INSERT_EVENTS_AND_ADVANCE_HEADS = `with events as (
    insert into audit_events
      (id, chain, seq, at, tenant_id, actor_id, action, target_type, target_id, outcome, request_id, ip, detail, prev_hash, hash)
    select * from unnest(?::uuid[], ?::text[], ?::int[], ?::timestamptz[], ?::uuid[], ?::uuid[], ?::text[], ?::text[],
      ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
  )
  update audit_chain_heads as head set seq = next.seq, hash = next.hash
  from unnest(?::text[], ?::int[], ?::text[]) as next(chain, seq, hash)
  where head.chain = next.chain`;
