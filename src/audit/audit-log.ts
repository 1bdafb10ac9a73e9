import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { poolOf, type HeldConnection } from '../db/held-connection';
import { runSql, runStatement } from '../db/sql';
import type { AuditKeyService, ChainMacs } from '../vault/audit-key.service';
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
 * audit key (held by the vault) over the previous hash and its content. An append either holds
 * its chains' head rows locked in its transaction, or (a chat's credential.use, written in the
 * statement that records the chat) advances each head only from the state its events were
 * chained onto; either way concurrent writers get consecutive seqs with no gaps or duplicates.
 * Appending never throws into the caller's request: a failure is logged loudly instead.
 */
export class AuditLog {
  /** Each chain's head as this process last wrote it: where its next append probably goes. */
  private readonly knownHeads = new Map<string, ChainHead>();
  /** When another writer last moved a chain under this process. */
  private readonly movedAt = new Map<string, number>();

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

  /**
   * Appends `records` in the same statement as `writes` (CTEs writing what the events are
   * about, with their parameters), so both are written or neither. On the heads this process
   * knows, that is one statement with no lock; else (or when a head had moved) one transaction
   * that locks the heads first. `connection`: where the lock-free statement runs (the caller's, kept between its writes).
   */
  async appendWith(records: readonly AuditRecord[], writes: SqlCtes, connection?: HeldConnection): Promise<void> {
    const guessed = this.prepareOnKnownHeads(records);
    if (guessed) {
      try {
        await runStatement(connection ?? poolOf(this.root), ...withAppend(writes, guessed));
        this.written(guessed);
        return;
      } catch (error) {
        if (!isAuditHeadsMoved(error)) throw error;
        this.moved(guessed);
        this.log.debug({ chains: guessed.chains }, 'audit chain moved by another writer: appending under its lock');
      }
    }
    const prepared = await this.root.fork().transactional(async (tx) => {
      const locked = await this.prepareOnLockedHeads(tx, records);
      await runSql(tx, ...withAppend(writes, locked));
      return locked;
    });
    if (prepared) this.written(prepared);
  }

  private async appendToChains(
    tx: EntityManager,
    given: readonly AuditRecord[],
    alsoChains: readonly string[],
  ): Promise<void> {
    const prepared = await this.prepareOnLockedHeads(tx, given, alsoChains);
    if (!prepared) return;
    const statement = auditStatement(prepared);
    await runSql(tx, `with ${statement.ctes} select ${statement.check}`, statement.params);
    this.written(prepared);
  }

  /**
   * The events of `records` computed on the heads this process last wrote, with no round trip,
   * for a statement that advances each head only from exactly that state (auditStatement). Null
   * when a chain's head or key is not known here, or another writer moved the chain lately: then
   * prepareOnLockedHeads. Whatever this process believes, a stale head can only make the
   * statement fail (AuditHeadsMoved), never fork a chain.
   */
  private prepareOnKnownHeads(records: readonly AuditRecord[]): PreparedAppend | null {
    const chains = chainsOf(records, []);
    const now = Date.now();
    const heads = new Map<string, ChainHead>();
    for (const chain of chains) {
      const head = this.knownHeads.get(chain);
      if (!head || (this.movedAt.get(chain) ?? -Infinity) > now - MOVED_BACKOFF_MS) return null;
      heads.set(chain, head);
    }
    const lent = this.keys.withCachedKeys(chains, (macs) => chainEvents(macs, heads, records, new Map()));
    return lent ? preparedAppend(chains, heads, lent.value) : null;
  }

  /**
   * The events computed on the chains' heads locked in `tx` (created on first use), so they
   * cannot move before `tx` ends; a chain without a key gets one. Null when there is nothing to write.
   */
  private async prepareOnLockedHeads(
    tx: EntityManager,
    records: readonly AuditRecord[],
    alsoChains: readonly string[] = [],
  ): Promise<PreparedAppend | null> {
    const chains = chainsOf(records, alsoChains);
    // Keys are unwrapped before the heads are locked, so a keyring call never holds a chain up.
    await this.keys.prefetch(tx, chains);
    const rows = await runSql<{ chain: string; seq: number; hash: string }>(tx, LOCK_HEADS, [GENESIS_HASH, chains]);
    const heads = new Map(rows.map((row) => [row.chain, { seq: Number(row.seq), hash: row.hash }]));
    const locked = chains.map((chain) => ({ chain, seq: heads.get(chain)!.seq }));
    const events = await this.keys.withChainKeys(tx, locked, (macs, keyed) => chainEvents(macs, heads, records, keyed));
    return events.length === 0 ? null : preparedAppend(chains, heads, events);
  }

  /**
   * The append was written: its heads are the ones to build on next. Only a hint: inside a
   * caller's transaction that later rolls back, the next append on it fails its check and is
   * made under the lock.
   */
  private written(prepared: PreparedAppend): void {
    prepared.chains.forEach((chain, index) => {
      const known = this.knownHeads.get(chain);
      if (!known || known.seq < prepared.newSeqs[index]) {
        this.knownHeads.set(chain, { seq: prepared.newSeqs[index], hash: prepared.newHashes[index] });
      }
    });
  }

  /** The append failed with AuditHeadsMoved: another writer advanced a chain; read it under lock for a while. */
  private moved(prepared: PreparedAppend): void {
    const now = Date.now();
    for (const chain of prepared.chains) {
      this.knownHeads.delete(chain);
      this.movedAt.set(chain, now);
    }
  }
}

/** How long after a chain moved under this process its appends lock the head rather than guess it. */
const MOVED_BACKOFF_MS = 1000;

interface ChainHead {
  seq: number;
  hash: string;
}

interface ChainEvent extends HashedContent {
  prevHash: string;
  hash: string;
}

/** Events and the heads they advance, each from exactly `expected` to `new`. */
interface PreparedAppend {
  chains: string[];
  expectedSeqs: number[];
  expectedHashes: string[];
  newSeqs: number[];
  newHashes: string[];
  events: ChainEvent[];
}

/** Heads are locked in chain order, so two batches over the same chains cannot deadlock. */
function chainsOf(records: readonly AuditRecord[], alsoChains: readonly string[]): string[] {
  return [...new Set([...records.map((record) => chainOf(record.tenantId)), ...alsoChains])].sort();
}

/**
 * Chains `records` onto `heads` (advancing them), after an audit.key.create event for each chain
 * keyed now (`keyed`: chain → keyedFromSeq) that had unkeyed events: it says where keying began.
 */
function chainEvents(
  macs: ChainMacs,
  heads: Map<string, ChainHead>,
  records: readonly AuditRecord[],
  keyed: ReadonlyMap<string, number>,
): ChainEvent[] {
  const at = new Date();
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
  return [...keyCreations, ...records].map((record) => {
    const chain = chainOf(record.tenantId);
    const previous = heads.get(chain)!;
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
    heads.set(chain, { seq: content.seq, hash });
    return { ...content, prevHash: previous.hash, hash };
  });
}

/** `advanced` holds the heads as they were before `events` (which has moved them on). */
function preparedAppend(
  chains: string[],
  before: ReadonlyMap<string, ChainHead>,
  events: ChainEvent[],
): PreparedAppend {
  const expected = chains.map((chain) => {
    const first = events.find((event) => event.chain === chain);
    return first ? { seq: first.seq - 1, hash: first.prevHash } : before.get(chain)!;
  });
  const after = chains.map((chain) => before.get(chain)!);
  return {
    chains,
    expectedSeqs: expected.map((head) => head.seq),
    expectedHashes: expected.map((head) => head.hash),
    newSeqs: after.map((head) => head.seq),
    newHashes: after.map((head) => head.hash),
    events,
  };
}

/**
 * The SQL of an append, to be run as one statement (alone or with other CTEs): `ctes` inserts
 * the events and advances each head only if it still is what the events were chained onto;
 * `check`, selected by the statement, fails it (and so everything it wrote) with AuditHeadsMoved
 * unless every head advanced. The parameters are those of `ctes` then `check`, in that order.
 */
function auditStatement(prepared: PreparedAppend): { ctes: string; check: string; params: unknown[] } {
  return {
    ctes: ADVANCE_HEADS_AND_INSERT_EVENTS,
    check: 'keyward_audit_heads_advanced(?::int, (select count(*)::int from advanced_heads))',
    params: [
      JSON.stringify(
        prepared.chains.map((chain, index) => ({
          chain,
          expected_seq: prepared.expectedSeqs[index],
          expected_hash: prepared.expectedHashes[index],
          seq: prepared.newSeqs[index],
          hash: prepared.newHashes[index],
        })),
      ),
      JSON.stringify(
        prepared.events.map((event) => ({
          id: randomUUID(),
          chain: event.chain,
          seq: event.seq,
          at: event.at,
          tenant_id: event.tenantId,
          actor_id: event.actorId,
          action: event.action,
          target_type: event.targetType,
          target_id: event.targetId,
          outcome: event.outcome,
          request_id: event.requestId,
          ip: event.ip,
          detail: event.detail,
          prev_hash: event.prevHash,
          hash: event.hash,
        })),
      ),
      prepared.chains.length,
    ],
  };
}

/** Common table expressions (`name as (...)`, comma-separated) and their parameters, in order. */
export interface SqlCtes {
  ctes: string;
  params: unknown[];
}

/** One statement: `writes`, then the append's CTEs and its check (nothing more without an append). */
function withAppend(writes: SqlCtes, prepared: PreparedAppend | null): [string, unknown[]] {
  if (!prepared) return [`with ${writes.ctes} select 1`, writes.params];
  const audit = auditStatement(prepared);
  return [`with ${writes.ctes}, ${audit.ctes} select ${audit.check}`, [...writes.params, ...audit.params]];
}

/** SQLSTATE raised by keyward_audit_heads_advanced (see its migration). */
const AUDIT_HEADS_MOVED = 'KW001';

/** Whether a statement failed because a chain's head was not where the append expected it. */
function isAuditHeadsMoved(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === AUDIT_HEADS_MOVED;
}

/**
 * Creates each chain's head on first use, locks it (ON CONFLICT DO UPDATE takes the row lock)
 * and returns it, in one round trip.
 */
const LOCK_HEADS = `insert into audit_chain_heads (chain, seq, hash)
  select chain, 0, ?::text from unnest(?::text[]) as heads(chain)
  on conflict (chain) do update set chain = excluded.chain
  returning chain, seq, hash`;

/**
 * Each head advanced from exactly the state its events were chained onto (a head that moved
 * meanwhile matches no row), and the events (columns of AuditChainHeadEntity and AuditEventEntity).
 */
const ADVANCE_HEADS_AND_INSERT_EVENTS = `next_heads as (
    select * from json_to_recordset(?::json) as next(chain text, expected_seq int, expected_hash text, seq int, hash text)
  ), advanced_heads as (
    update audit_chain_heads as head set seq = next.seq, hash = next.hash
    from next_heads as next
    where head.chain = any(array(select chain from next_heads))
      and head.chain = next.chain and head.seq = next.expected_seq and head.hash = next.expected_hash
    returning head.chain
  ), appended_events as (
    insert into audit_events
      (id, chain, seq, at, tenant_id, actor_id, action, target_type, target_id, outcome, request_id, ip, detail, prev_hash, hash)
    select id, chain, seq, at, tenant_id, actor_id, action, target_type, target_id, outcome, request_id, ip, detail,
      prev_hash, hash
    from json_to_recordset(?::json) as event(id uuid, chain text, seq int, at timestamptz, tenant_id uuid, actor_id uuid,
      action text, target_type text, target_id text, outcome text, request_id text, ip text, detail text,
      prev_hash text, hash text)
  )`;
