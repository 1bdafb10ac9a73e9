import type { Redis } from '../db/redis';
import type { Logger } from '../common/logger';
import type { Lease, LeaseAdmission, LeaseRequest, StreamLeases } from './stream-leases';
import type { StreamLimits } from './stream-limits';

const CLIENT_REQUEST_TTL_SECONDS = 24 * 60 * 60;

// A sorted set of lease ids per user and per tenant, scored by expiry in ms of the Redis server's
// clock (every replica reads the same clock). Expired members are dropped before counting.
const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: user set, tenant set, client request key. ARGV: lease id, lease ms, per user, per tenant, claim (1/0), request id, claim ttl s. */
const ADMIT = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if ARGV[5] == '1' then
  local original = redis.call('GET', KEYS[3])
  if original then return {'duplicate', original} end
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return {'user_cap'} end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return {'tenant_cap'} end
if ARGV[5] == '1' then redis.call('SET', KEYS[3], ARGV[6], 'EX', tonumber(ARGV[7])) end
local expires = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('ZADD', KEYS[2], expires, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], expires)
redis.call('PEXPIREAT', KEYS[2], expires)
return {'admitted'}`;

/** KEYS: user set, tenant set (pairs, one per lease). ARGV: lease ms, then one lease id per pair. */
const RENEW = `${NOW_MS}
local expires = now + tonumber(ARGV[1])
for i = 1, #KEYS, 2 do
  local id = ARGV[(i + 1) / 2 + 1]
  redis.call('ZADD', KEYS[i], 'XX', expires, id)
  redis.call('ZADD', KEYS[i + 1], 'XX', expires, id)
  redis.call('PEXPIREAT', KEYS[i], expires)
  redis.call('PEXPIREAT', KEYS[i + 1], expires)
end
return 1`;

/** KEYS: user set, tenant set, client request key. ARGV: lease id, request id. */
const WITHDRAW = `redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
return 1`;

/**
 * Stream leases and client request ids in Redis (KEYWARD_REDIS_URL), each admission one Lua
 * script run atomically by the server. While Redis is unreachable a chat is admitted on this
 * process's own count alone (logged), without duplicate detection: availability over the global cap.
 */
export class RedisStreamLeases implements StreamLeases {
  readonly inDatabase = false;
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly limits: StreamLimits,
    private readonly leaseMs: number,
    private readonly log: Logger,
  ) {}

  async admit(request: LeaseRequest): Promise<LeaseAdmission> {
    let reply: string[];
    try {
      reply = (await this.redis.eval(
        ADMIT,
        3,
        this.userKey(request),
        this.tenantKey(request),
        this.clientRequestKey(request),
        request.leaseId,
        this.leaseMs,
        this.limits.perUser,
        this.limits.perTenant,
        request.clientRequestId ? '1' : '0',
        request.requestId,
        CLIENT_REQUEST_TTL_SECONDS,
      )) as string[];
    } catch (error) {
      this.log.warn({ err: error }, 'Redis unavailable: chat admitted on this process’s stream count alone');
      return { outcome: 'admitted' };
    }
    const [outcome, original] = reply;
    if (outcome === 'duplicate') return { outcome, originalRequestId: original };
    return { outcome: outcome as 'admitted' | 'user_cap' | 'tenant_cap' };
  }

  async renew(leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return;
    const keys = leases.flatMap((lease) => [this.userKey(lease), this.tenantKey(lease)]);
    await this.redis.eval(RENEW, keys.length, ...keys, this.leaseMs, ...leases.map((lease) => lease.leaseId));
  }

  async release(lease: Lease): Promise<void> {
    await this.redis.multi().zrem(this.userKey(lease), lease.leaseId).zrem(this.tenantKey(lease), lease.leaseId).exec();
  }

  async withdraw(request: LeaseRequest): Promise<void> {
    await this.redis.eval(
      WITHDRAW,
      3,
      this.userKey(request),
      this.tenantKey(request),
      this.clientRequestKey(request),
      request.leaseId,
      request.requestId,
    );
  }

  private userKey(lease: Lease): string {
    return `${this.keyPrefix}streams:user:${lease.userId}`;
  }

  private tenantKey(lease: Lease): string {
    return `${this.keyPrefix}streams:tenant:${lease.tenantId}`;
  }

  private clientRequestKey(request: LeaseRequest): string {
    return `${this.keyPrefix}client-request:${request.userId}:${request.clientRequestId ?? ''}`;
  }
}
