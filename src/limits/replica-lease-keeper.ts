import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { runSql } from '../db/sql';
import type { Lease, StreamLeases } from './stream-leases';

/** Client request ids older than this may be used again (see ChatClientRequestEntity). */
const CLIENT_REQUEST_ID_HOURS = 24;

/**
 * Keeps this replica's stream leases and budget and platform-spend reservations alive while it
 * runs (renewed every third of the lease time), and deletes everyone's expired ones: those of a
 * replica that died without releasing them, and client request ids older than 24 hours.
 */
export class ReplicaLeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly root: EntityManager,
    private readonly replicaId: string,
    private readonly leaseMs: number,
    private readonly leases: StreamLeases,
    /** The leases of the streams open here now; a lease whose release failed is not among them and expires. */
    private readonly openLeases: () => Lease[],
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.tick(), Math.max(250, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One renewal (leases first, then reservations) and sweep; skipped while the previous one still runs. */
  tick(): Promise<void> {
    this.running ??= this.renewAndSweep().finally(() => (this.running = null));
    return this.running;
  }

  private async renewAndSweep(): Promise<void> {
    const seconds = this.leaseMs / 1000;
    try {
      const open = this.openLeases();
      await this.leases.renew(open);
      await runSql(this.root.fork(), RENEW_AND_SWEEP, [
        seconds,
        this.replicaId,
        seconds,
        this.replicaId,
        open.map((lease) => lease.leaseId),
        this.replicaId,
        this.replicaId,
        CLIENT_REQUEST_ID_HOURS,
      ]);
    } catch (error) {
      this.log.warn({ err: error }, 'could not renew stream leases and reservations; retrying');
    }
  }
}

// All parts see one snapshot, so the sweeps leave the rows this replica renews alone (a row both
// updated and deleted by one statement would be only one of them). With Redis, stream_leases and
// chat_client_requests stay empty and their sweeps find nothing.
const RENEW_AND_SWEEP = `with
  renew_budget as (update budget_reservations set expires_at = now() + make_interval(secs => ?) where replica_id = ?),
  renew_platform as (update platform_spend_reservations set expires_at = now() + make_interval(secs => ?) where replica_id = ?),
  sweep_leases as (delete from stream_leases where expires_at <= now() and not (id = any(?::uuid[]))),
  sweep_budget as (delete from budget_reservations where expires_at <= now() and replica_id is distinct from ?),
  sweep_platform as (delete from platform_spend_reservations where expires_at <= now() and replica_id is distinct from ?),
  sweep_client_requests as (delete from chat_client_requests where created_at < now() - make_interval(hours => ?))
select 1`;
