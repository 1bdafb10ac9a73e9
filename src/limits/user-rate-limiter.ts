import type { Knex } from '@mikro-orm/postgresql';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { ErrorCode, KeywardError } from '../common/errors';

/**
 * Requests per minute per user, from the tenant policy, counted in PostgreSQL by
 * rate-limiter-flexible so every gateway process shares one count.
 */
export class UserRateLimiter {
  /** One limiter per distinct limit value; they share the table and key space. */
  private readonly limiters = new Map<number, RateLimiterPostgres>();

  constructor(private readonly knex: Knex) {}

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

  private limiterFor(points: number): RateLimiterPostgres {
    let limiter = this.limiters.get(points);
    if (!limiter) {
      limiter = new RateLimiterPostgres({
        storeClient: this.knex,
        storeType: 'knex',
        tableName: 'rate_limits',
        tableCreated: true,
        keyPrefix: 'rpm',
        points,
        duration: 60,
        clearExpiredByTimeout: false,
      });
      this.limiters.set(points, limiter);
    }
    return limiter;
  }
}
