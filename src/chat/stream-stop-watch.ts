import type { EntityManager } from '@mikro-orm/postgresql';
import type { CacheInvalidation } from '../cache/cache-invalidation';
import type { Logger } from '../common/logger';
import { runSql } from '../db/sql';
import type { StreamRegistry } from './stream-registry';

const WATCH_INTERVAL_MS = 1_000;

/**
 * Stops reach other gateway processes with the cache invalidations (LISTEN/NOTIFY). While those
 * cannot be relied on (the channel is down, or the database does not deliver notifications),
 * this watch looks every second, in one query, for the tenants, credentials and tokens of this
 * process's open streams that are gone, and stops their streams as a notification would have.
 */
export class StreamStopWatch {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly root: EntityManager,
    private readonly caches: CacheInvalidation,
    private readonly streams: StreamRegistry,
    private readonly log: Logger,
    private readonly intervalMs = WATCH_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    if (this.checking || this.caches.cachesUsable) return;
    const open = this.streams.openTickets();
    if (open.length === 0) return;
    this.checking = true;
    try {
      const unique = (values: Array<string | null | undefined>) => [
        ...new Set(values.filter((value): value is string => Boolean(value))),
      ];
      const [gone] = await runSql<{ tenants: string[] | null; credentials: string[] | null; tokens: string[] | null }>(
        this.root.fork(),
        GONE,
        [
          unique(open.map((ticket) => ticket.tenantId)),
          unique(open.map((ticket) => ticket.credentialId)),
          unique(open.map((ticket) => ticket.tokenId)),
        ],
      );
      for (const tenantId of gone.tenants ?? []) this.streams.stop(tenantId, { reason: 'TENANT_DELETED' });
      for (const credentialId of gone.credentials ?? [])
        this.streams.stop('', { reason: 'CREDENTIAL_DELETED', credentialId });
      for (const tokenId of gone.tokens ?? []) this.streams.stop('', { reason: 'TOKEN_REVOKED', tokenId });
    } catch (error) {
      this.log.warn({ err: error }, 'could not check open streams for deleted tenants, credentials or tokens');
    } finally {
      this.checking = false;
    }
  }
}

const GONE = `select
  array(select candidate from unnest(?::uuid[]) as c(candidate)
        where not exists (select 1 from tenants where tenants.id = c.candidate)) as tenants,
  array(select candidate from unnest(?::uuid[]) as c(candidate)
        where not exists (select 1 from credentials where credentials.id = c.candidate)) as credentials,
  array(select candidate from unnest(?::uuid[]) as c(candidate)
        where not exists (select 1 from api_tokens where api_tokens.id = c.candidate and api_tokens.revoked_at is null)) as tokens`;
