import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface FailedAuthThrottleLimits {
  /** Events recorded per source (client address, chain and reason) per minute. */
  perSourcePerMinute: number;
  /** Events recorded per process per minute, whatever their source. */
  overallPerMinute: number;
}

export const DEFAULT_FAILED_AUTH_LIMITS: FailedAuthThrottleLimits = { perSourcePerMinute: 1, overallPerMinute: 60 };

/** Sources whose unrecorded failures are counted; beyond it the least recent lose their count. */
const COUNTED_SOURCES = 10_000;

/**
 * Decides which failed authentications become `auth.failed` audit events, so that clients
 * without valid credentials cannot grow the audit chain (and serialise writers on its head) at
 * will: per source and per process, at most a few events a minute; the failures in between are
 * counted and the next recorded event of the same source carries that count.
 */
export class FailedAuthThrottle {
  private readonly perSource: RateLimiterMemory;
  private readonly overall: RateLimiterMemory;
  private readonly unrecorded = new LRUCache<string, number>({ max: COUNTED_SOURCES });

  constructor(limits: FailedAuthThrottleLimits = DEFAULT_FAILED_AUTH_LIMITS) {
    this.perSource = new RateLimiterMemory({ points: limits.perSourcePerMinute, duration: 60 });
    this.overall = new RateLimiterMemory({ points: limits.overallPerMinute, duration: 60 });
  }

  /**
   * Null: do not record this failure (it is counted). Otherwise record it, noting how many
   * failures of the same source went unrecorded since its last event.
   */
  async admit(source: string): Promise<{ unrecordedBefore: number } | null> {
    if (!(await allowed(this.perSource, source)) || !(await allowed(this.overall, 'all'))) {
      this.unrecorded.set(source, (this.unrecorded.get(source) ?? 0) + 1);
      return null;
    }
    const unrecordedBefore = this.unrecorded.get(source) ?? 0;
    this.unrecorded.delete(source);
    return { unrecordedBefore };
  }
}

async function allowed(limiter: RateLimiterMemory, key: string): Promise<boolean> {
  try {
    await limiter.consume(key);
    return true;
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) return false;
    throw refusal;
  }
}
