import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { AuditOutcome, GLOBAL_CHAIN } from './audit-event.entity';
import { auditHash, GENESIS_HASH } from './audit-hash';

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

/**
 * Appends events to per-tenant hash chains. Each append is its own transaction holding the
 * chain's head row, so concurrent writers get consecutive seqs with no gaps or duplicates.
 * Appending never throws into the caller's request: a failure is logged loudly instead.
 */
export class AuditLog {
  constructor(
    private readonly root: EntityManager,
    private readonly log: Logger,
  ) {}

  async append(record: AuditRecord): Promise<void> {
    try {
      await this.appendOrThrow(record);
    } catch (error) {
      this.log.error({ err: error, action: record.action, tenantId: record.tenantId }, 'AUDIT APPEND FAILED');
    }
  }

  async appendOrThrow(record: AuditRecord): Promise<void> {
    await this.root.fork().transactional((tx) => this.appendWithin(tx, record));
  }

  /**
   * Appends inside the caller's transaction (two statements): the chain's head stays locked
   * until that transaction ends, so keep what follows short.
   */
  async appendWithin(tx: EntityManager, record: AuditRecord): Promise<void> {
    const chain = chainOf(record.tenantId);
    const [head] = await tx.execute<Array<{ seq: number; hash: string }>>(LOCK_HEAD, [chain, GENESIS_HASH]);
    const content = {
      chain,
      seq: Number(head.seq) + 1,
      at: new Date(),
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
    const hash = auditHash(head.hash, content);
    await tx.execute(INSERT_EVENT_AND_ADVANCE_HEAD, [
      randomUUID(),
      content.chain,
      content.seq,
      content.at,
      content.tenantId,
      content.actorId,
      content.action,
      content.targetType,
      content.targetId,
      content.outcome,
      content.requestId,
      content.ip,
      content.detail,
      head.hash,
      hash,
      content.seq,
      hash,
      chain,
    ]);
  }
}

/**
 * Creates the chain's head on first use, locks it (ON CONFLICT DO UPDATE takes the row lock)
 * and returns it, in one round trip.
 */
const LOCK_HEAD = `insert into audit_chain_heads (chain, seq, hash) values (?, 0, ?)
  on conflict (chain) do update set chain = excluded.chain
  returning seq, hash`;

/** The event and the new head together (columns of AuditEventEntity and AuditChainHeadEntity). */
const INSERT_EVENT_AND_ADVANCE_HEAD = `with event as (
    insert into audit_events
      (id, chain, seq, at, tenant_id, actor_id, action, target_type, target_id, outcome, request_id, ip, detail, prev_hash, hash)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  )
  update audit_chain_heads set seq = ?, hash = ? where chain = ?`;
