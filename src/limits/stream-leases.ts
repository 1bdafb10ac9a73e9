import type { EntityManager } from '@mikro-orm/postgresql';
import { runSql } from '../db/sql';
import type { StreamLimits } from './stream-limits';

/** A place among the open streams of every replica. */
export interface Lease {
  leaseId: string;
  tenantId: string;
  userId: string;
}

/** A chat asking for a place among the open streams of every replica. */
export interface LeaseRequest extends Lease {
  /** The request this chat would be (named to a later duplicate). */
  requestId: string;
  /** `ChatInput.clientRequestId`: claimed with the lease; unset, nothing is claimed. */
  clientRequestId?: string | null;
}

export type LeaseAdmission =
  | { outcome: 'admitted' }
  | { outcome: 'user_cap' | 'tenant_cap' }
  | { outcome: 'duplicate'; originalRequestId: string };

/**
 * The per-user and per-tenant stream caps across all replicas, and the client request ids that
 * make a re-submitted chat a duplicate. One implementation per store: PostgreSQL (PgStreamLeases),
 * or Redis with KEYWARD_REDIS_URL (RedisStreamLeases).
 */
export interface StreamLeases {
  /** One round trip: the claim of the client request id and the lease, or why neither was taken. */
  admit(request: LeaseRequest): Promise<LeaseAdmission>;
  /** Pushes the expiry of these leases (this replica's open streams) a lease time past now. */
  renew(leases: readonly Lease[]): Promise<void>;
  /** The chat ended: its place is free. */
  release(lease: Lease): Promise<void>;
  /** The chat was refused before it started: its place is free and its client request id may be used again. */
  withdraw(request: LeaseRequest): Promise<void>;
}

/** Stream leases in PostgreSQL: the `keyward_admit_chat` function (see its migration) does the admission. */
export class PgStreamLeases implements StreamLeases {
  constructor(
    private readonly root: EntityManager,
    private readonly replicaId: string,
    private readonly limits: StreamLimits,
    private readonly leaseMs: number,
  ) {}

  async admit(request: LeaseRequest): Promise<LeaseAdmission> {
    const [row] = await runSql<{ outcome: LeaseAdmission['outcome']; original_request_id: string | null }>(
      this.root.fork(),
      'select outcome, original_request_id from keyward_admit_chat(?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        request.leaseId,
        this.replicaId,
        request.tenantId,
        request.userId,
        this.limits.perUser,
        this.limits.perTenant,
        Math.ceil(this.leaseMs / 1000),
        request.clientRequestId ?? null,
        request.requestId,
      ],
    );
    if (row.outcome === 'duplicate') return { outcome: 'duplicate', originalRequestId: row.original_request_id! };
    return { outcome: row.outcome };
  }

  async renew(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await runSql(
      this.root.fork(),
      'update stream_leases set expires_at = now() + make_interval(secs => ?) where id = any(?::uuid[])',
      [this.leaseMs / 1000, leases.map((lease) => lease.leaseId)],
    );
  }

  async release(lease: Lease): Promise<void> {
    await runSql(this.root.fork(), 'delete from stream_leases where id = ?', [lease.leaseId]);
  }

  async withdraw(request: LeaseRequest): Promise<void> {
    await runSql(
      this.root.fork(),
      `with lease as (delete from stream_leases where id = ?)
       delete from chat_client_requests where user_id = ? and client_request_id = ? and request_id = ?`,
      [request.leaseId, request.userId, request.clientRequestId ?? null, request.requestId],
    );
  }
}
