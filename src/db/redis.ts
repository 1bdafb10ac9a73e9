import type { Redis } from 'ioredis';
import type { Logger } from '../common/logger';

export type { Redis } from 'ioredis';

/**
 * A Redis connection for the shared stream leases and rate limits. Commands fail at once while it
 * is down (no offline queue, one attempt), so a chat never waits on a reconnect: the rate limiter
 * falls back to its in-memory insurance and admission to this process's own count. It reconnects
 * in the background. ioredis is imported here, so a gateway without Redis never loads it.
 */
export async function connectRedis(url: string, log: Logger): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log.warn(
      { err: { message: error.message } },
      'Redis unreachable: using this process’s own limits until it is back',
    );
  });
  redis.on('ready', () => {
    if (down) log.info('Redis reachable again');
    down = false;
  });
  return redis;
}
