import type { Knex } from '@mikro-orm/postgresql';
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { ErrorCode, KeywardError } from '../common/errors';
import type { Redis } from '../db/redis';

/** Builds the limiter for one limit value (requests per minute). */
export type RateLimiterStore = (points: number) => RateLimiterAbstract;

/** Counts in PostgreSQL's `rate_limits` table, shared by every gateway process. */
export const postgresRateLimits =
  (knex: Knex): RateLimiterStore =>
  (points) =>
    new RateLimiterPostgres({
      storeClient: unnamedStatements(knex),
      storeType: 'pool',
      tableName: 'rate_limits',
      tableCreated: true,
      keyPrefix: 'rpm',
      points,
      duration: 60,
      clearExpiredByTimeout: false,
    });

/**
 * Counts in Redis, shared by every gateway process. While Redis is unreachable each process
 * counts on its own in memory (rate-limiter-flexible's insurance limiter), so N replicas then
 * allow up to N times the limit.
 */
export const redisRateLimits =
  (redis: Redis, keyPrefix: string): RateLimiterStore =>
  (points) =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${keyPrefix}rpm`,
      points,
      duration: 60,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix: 'rpm-insurance', points, duration: 60 }),
    });

/**
 * Requests per minute per user, from the tenant policy, counted by rate-limiter-flexible in a
 * store every gateway process shares (PostgreSQL, or Redis with KEYWARD_REDIS_URL).
 */
export class UserRateLimiter {
  /** One limiter per distinct limit value; they share the store and key space. */
  private readonly limiters = new Map<number, RateLimiterAbstract>();

  constructor(private readonly store: RateLimiterStore) {}

  async consume(userId: string, requestsPerMinute: number | null): Promise<void> {
    if (requestsPerMinute === null) return;
    try {
      await this.limiterFor(requestsPerMinute).consume(userId, 1);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfterSeconds = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
      throw new KeywardError(ErrorCode.RATE_LIMITED, `Rate limit of ${requestsPerMinute} requests per minute reached`, {
        retryAfterSeconds,
      });
    }
  }

  private limiterFor(points: number): RateLimiterAbstract {
    let limiter = this.limiters.get(points);
    if (!limiter) {
      limiter = this.store(points);
      this.limiters.set(points, limiter);
    }
    return limiter;
  }
}

/**
 * A `pool`-shaped store client over knex's pool that runs every query as an unnamed statement.
 * rate-limiter-flexible names its statements (`rate_limits:rlflx-upsert`, …) and prepares each
 * once per connection it has seen. Named statements live in the server session, and the embedded
 * PGlite serves every connection from one session: the second connection (of this process or of
 * another gateway) to prepare one failed with "prepared statement … already exists", which made
 * every rate-limited chat an INTERNAL_SERVER_ERROR. Unnamed statements cost a parse per call.
 */
function unnamedStatements(knex: Knex) {
  return {
    async query(statement: { text: string; values?: unknown[] }): Promise<unknown> {
      const connection = await knex.client.acquireConnection();
      try {
        return await connection.query({ text: statement.text, values: statement.values });
      } finally {
        await knex.client.releaseConnection(connection);
      }
    },
  };
}
