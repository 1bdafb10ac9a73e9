import type { MikroORM } from '@mikro-orm/postgresql';
import { Router } from 'express';
import type { InvalidationChannelState } from '../cache/cache-invalidation';

/**
 * /healthz: the process is up. /readyz: the database answers, so a load balancer may send traffic;
 * it also says whether the cache invalidation channel works (without it the gateway serves, uncached).
 */
export function healthRoutes(
  orm: MikroORM,
  isDraining: () => boolean,
  cacheChannel: () => InvalidationChannelState = () => 'in-process',
): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (isDraining()) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    try {
      await orm.em.getConnection().execute('select 1');
      res.json({ status: 'ready', cacheInvalidation: cacheChannel() });
    } catch {
      res.status(503).json({ status: 'database unavailable' });
    }
  });
  return router;
}
