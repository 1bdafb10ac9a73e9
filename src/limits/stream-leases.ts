import type { EntityManager } from '@mikro-orm/postgresql';
import { GroupCommit } from '../db/group-commit';
import { poolOf, type HeldConnection } from '../db/held-connection';
import { runSql, runStatement } from '../db/sql';
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
  /** The leases are rows of `stream_leases` in the gateway's database (so other statements may delete them). */
  readonly inDatabase: boolean;
  /** One round trip: the claim of the client request id and the lease, or why neither was taken. */
  admit(request: LeaseRequest): Promise<LeaseAdmission>;
  /** Pushes the expiry of these leases (this replica's open streams) a lease time past now. */
  renew(leases: readonly Lease[]): Promise<void>;
  /** The chat ended: its place is free. */
  release(lease: Lease): Promise<void>;
  /** The chat was refused before it started: its place is free and its client request id may be used again. */
  withdraw(request: LeaseRequest): Promise<void>;
}

/**
 * Stream leases in PostgreSQL: the `keyward_admit_chat` function (see its migration) does the
 * admission. Admissions and releases that arrive while one is being written share the next
 * statement (GroupCommit), so under load a chat costs no round trip of its own; alone it is one.
 */
/** One keyward_admit_chat call per request (sorted by the caller), in the order of `ord`. */
const admitSql = (extraColumns: string) => `select r.ord, a.outcome, a.original_request_id${extraColumns}
  from unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::uuid[])
    with ordinality as r(lease_id, tenant_id, user_id, client_request_id, request_id, ord)
  cross join lateral keyward_admit_chat(r.lease_id, ?, r.tenant_id, r.user_id, ?, ?, ?, r.client_request_id, r.request_id) a
  order by r.ord`;
const ADMIT = admitSql('');
/** The same, its transaction committed without waiting for the disk (SET LOCAL synchronous_commit = off). */
const ADMIT_WITHOUT_WAITING_FOR_DISK = admitSql(", set_config('synchronous_commit', 'off', true)");

export class PgStreamLeases implements StreamLeases {
  readonly inDatabase = true;
  private readonly admissions: GroupCommit<LeaseRequest, LeaseAdmission>;
  private readonly releases: GroupCommit<Lease>;

  constructor(
    private readonly root: EntityManager,
    private readonly replicaId: string,
    private readonly limits: StreamLimits,
    private readonly leaseMs: number,
    /** The admissions' connection, kept between them. */
    private readonly connection?: HeldConnection,
  ) {
    this.admissions = new GroupCommit((requests) => this.admitAll(requests));
    this.releases = new GroupCommit((leases) => this.releaseAll(leases));
  }

  admit(request: LeaseRequest): Promise<LeaseAdmission> {
    return this.admissions.submit(request);
  }

  /**
   * One call of keyward_admit_chat per request, in one statement (one transaction). The calls run
   * in tenant order, so two replicas' batches take the per-tenant locks in the same order and
   * never deadlock; each call sees the leases the earlier ones inserted.
   */
  private async admitAll(requests: LeaseRequest[]): Promise<LeaseAdmission[]> {
    const ordered = requests.map((request, index) => ({ request, index }));
    ordered.sort((a, b) =>
      a.request.tenantId < b.request.tenantId ? -1 : a.request.tenantId > b.request.tenantId ? 1 : 0,
    );
    // A lease is worth nothing after a crash (it would expire), so without a client request id to
    // claim the admission does not wait for its commit to reach the disk; a claim must (a replay
    // after a crash of PostgreSQL must still be known for a duplicate).
    const claims = requests.some((request) => request.clientRequestId);
    const rows = await runStatement<{
      ord: string;
      outcome: LeaseAdmission['outcome'];
      original_request_id: string | null;
    }>(this.connection ?? poolOf(this.root), claims ? ADMIT : ADMIT_WITHOUT_WAITING_FOR_DISK, [
      ordered.map(({ request }) => request.leaseId),
      ordered.map(({ request }) => request.tenantId),
      ordered.map(({ request }) => request.userId),
      ordered.map(({ request }) => request.clientRequestId ?? null),
      ordered.map(({ request }) => request.requestId),
      this.replicaId,
      this.limits.perUser,
      this.limits.perTenant,
      Math.ceil(this.leaseMs / 1000),
    ]);
    const admissions: LeaseAdmission[] = new Array(requests.length);
    rows.forEach((row, position) => {
      admissions[ordered[position].index] =
        row.outcome === 'duplicate'
          ? { outcome: 'duplicate', originalRequestId: row.original_request_id! }
          : { outcome: row.outcome };
    });
    return admissions;
  }

  async renew(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    await runSql(
      this.root.fork(),
      'update stream_leases set expires_at = now() + make_interval(secs => ?) where id = any(?::uuid[])',
      [this.leaseMs / 1000, leases.map((lease) => lease.leaseId)],
    );
  }

  release(lease: Lease): Promise<void> {
    return this.releases.submit(lease);
  }

  private async releaseAll(leases: Lease[]): Promise<void> {
    await runSql(this.root.fork(), 'delete from stream_leases where id = any(?::uuid[])', [
      leases.map((lease) => lease.leaseId),
    ]);
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
