import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { AuditChainHeadEntity } from './audit-chain-head.entity';
import { AuditEventEntity, AuditOutcome, GLOBAL_CHAIN } from './audit-event.entity';
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

  async appendOrThrow(record: AuditRecord): Promise<AuditEventEntity> {
    const chain = chainOf(record.tenantId);
    return this.root.fork().transactional(async (tx) => {
      await tx.execute(
        `insert into audit_chain_heads (chain, seq, hash) values (?, 0, ?) on conflict (chain) do nothing`,
        [chain, GENESIS_HASH],
      );
      const [head] = await tx.execute<Array<{ seq: number; hash: string }>>(
        `select seq, hash from audit_chain_heads where chain = ? for update`,
        [chain],
      );
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
      const event = tx.create(AuditEventEntity, { ...content, prevHash: head.hash, hash });
      await tx.nativeUpdate(AuditChainHeadEntity, { chain }, { seq: content.seq, hash });
      await tx.flush();
      return event;
    });
  }
}
