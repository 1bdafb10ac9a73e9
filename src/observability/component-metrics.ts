import type { EntityManager } from '@mikro-orm/postgresql';
import type { CacheInvalidation } from '../cache/cache-invalidation';
import type { ChatObserver } from '../chat/chat-runner';
import type { ChatService } from '../chat/chat.service';
import type { DataKeyService } from '../vault/data-key.service';
import type { Metrics } from './metrics';

/** Time to first token, stream duration and upstream failures of every finished chat. */
export function chatMetricsObserver(metrics: Metrics): ChatObserver {
  return (plan, outcome) => {
    if (outcome.ttftMs !== null) {
      metrics.timeToFirstToken.observe({ model: plan.model.id, key_source: plan.key.source }, outcome.ttftMs / 1000);
    }
    metrics.streamDuration.observe({ model: plan.model.id, status: outcome.status }, outcome.totalMs / 1000);
    if (outcome.errorCode) metrics.upstreamErrors.inc({ provider: plan.model.provider, code: outcome.errorCode });
  };
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

/** Numbers owned by components, read at scrape time: open streams, data-key cache, database pool. */
export function observeComponents(
  metrics: Metrics,
  dataKeys: DataKeyService,
  chat: ChatService,
  em: EntityManager,
): void {
  metrics.observe('keyward_chat_streams_open', 'Chat streams currently open', () => chat.streams.size);
  metrics.observe('keyward_datakey_cache_hits', 'Data-key cache hits', () => dataKeys.cache.stats().hits, 'counter');
  metrics.observe(
    'keyward_datakey_cache_misses',
    'Data-key cache misses',
    () => dataKeys.cache.stats().misses,
    'counter',
  );
  metrics.observe(
    'keyward_datakey_cache_size',
    'Unwrapped data keys held in memory',
    () => dataKeys.cache.stats().size,
  );
  const pool = () => (em.getKnex().client as { pool?: TarnPool }).pool;
  metrics.observe('keyward_db_pool_used', 'Database connections in use', () => pool()?.numUsed() ?? 0);
  metrics.observe('keyward_db_pool_free', 'Idle database connections', () => pool()?.numFree() ?? 0);
  metrics.observe(
    'keyward_db_pool_pending',
    'Requests waiting for a database connection',
    () => pool()?.numPendingAcquires() ?? 0,
  );
}

/** Whether changes made on other replicas reach this one (caches on), and why not. */
export function observeCacheChannel(metrics: Metrics, caches: CacheInvalidation): void {
  metrics.observe(
    'keyward_cache_invalidation_listening',
    '1 while per-process caches are in use (LISTEN/NOTIFY works or no other process exists), 0 while they are bypassed',
    () => (caches.cachesUsable ? 1 : 0),
  );
  metrics.observe(
    'keyward_database_pooled_transaction_mode',
    '1 when DATABASE_URL goes through a pooler in transaction or statement mode (LISTEN cannot work; caches off)',
    () => (caches.channelState === 'pooled-transaction-mode' ? 1 : 0),
  );
}
