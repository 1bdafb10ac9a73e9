import { CacheInvalidation } from '../../src/cache/cache-invalidation';
import { TenantScopedCache, type Loaded } from '../../src/cache/tenant-scoped-cache';

interface Fact {
  version: number;
}

/** A loader that counts its calls and answers with the current version of a tenant's fact. */
function source(tenantId: string | null = 'tenant-a') {
  let version = 1;
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    bump: () => (version += 1),
    load: async (): Promise<Loaded<Fact>> => {
      calls += 1;
      return { tenantId, value: { version } };
    },
  };
}

const cacheWith = (invalidation: CacheInvalidation, ttlMs = 60_000) =>
  new TenantScopedCache<Fact>(invalidation, { maxEntries: 100, ttlMs });

test('a second read is served from memory, without loading', async () => {
  const cache = cacheWith(new CacheInvalidation());
  const facts = source();
  expect(await cache.get('k', facts.load)).toEqual({ version: 1 });
  facts.bump();
  expect(await cache.get('k', facts.load)).toEqual({ version: 1 });
  expect(facts.calls).toBe(1);
});

/** A cache holding one entry of tenant-a (key 'a') and one of tenant-b (key 'b'). */
async function twoTenantsCached() {
  const invalidation = new CacheInvalidation();
  const cache = cacheWith(invalidation);
  const a = source('tenant-a');
  const b = source('tenant-b');
  await cache.get('a', a.load);
  await cache.get('b', b.load);
  return { invalidation, cache, a, b };
}

test("a change to one tenant drops that tenant's entries and keeps the others'", async () => {
  const { invalidation, cache, a, b } = await twoTenantsCached();
  a.bump();
  b.bump();

  await invalidation.tenantChanged({ tenantId: 'tenant-a' });

  expect(await cache.get('a', a.load)).toEqual({ version: 2 });
  expect(await cache.get('b', b.load)).toEqual({ version: 1 });
  expect([a.calls, b.calls]).toEqual([2, 1]);
});

test('a load that was running when a change was announced is returned but not kept', async () => {
  const invalidation = new CacheInvalidation();
  const cache = cacheWith(invalidation);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slow = async (): Promise<Loaded<Fact>> => {
    await gate; // read the row before the change committed...
    return { tenantId: 'tenant-a', value: { version: 1 } };
  };

  const pending = cache.get('k', slow);
  await invalidation.tenantChanged({ tenantId: 'tenant-a' }); // ...and the change lands meanwhile
  release();
  expect(await pending).toEqual({ version: 1 });

  const fresh = source();
  fresh.bump();
  expect(await cache.get('k', fresh.load)).toEqual({ version: 2 });
  expect(fresh.calls).toBe(1);
});

test('while the cross-process channel is down every read loads, and nothing is kept', async () => {
  const invalidation = new CacheInvalidation();
  const cache = cacheWith(invalidation);
  const facts = source();
  await cache.get('k', facts.load);

  invalidation.setConnected(false);
  facts.bump();
  expect(await cache.get('k', facts.load)).toEqual({ version: 2 });
  facts.bump();
  expect(await cache.get('k', facts.load)).toEqual({ version: 3 });
  expect(facts.calls).toBe(3);

  invalidation.setConnected(true);
  expect(await cache.get('k', facts.load)).toEqual({ version: 3 });
  expect(await cache.get('k', facts.load)).toEqual({ version: 3 });
  expect(facts.calls).toBe(4);
});

test('a notification that names no tenant drops everything', async () => {
  const { invalidation, cache } = await twoTenantsCached();
  invalidation.invalidateLocally(null);
  expect(cache.size).toBe(0);
});

test('values without a tenant (e.g. an unknown token) are never kept', async () => {
  const cache = cacheWith(new CacheInvalidation());
  const orphan = source(null);
  await cache.get('k', orphan.load);
  await cache.get('k', orphan.load);
  expect(orphan.calls).toBe(2);
});

test('a time limit of 0 turns caching off', async () => {
  const cache = cacheWith(new CacheInvalidation(), 0);
  const facts = source();
  await cache.get('k', facts.load);
  facts.bump();
  expect(await cache.get('k', facts.load)).toEqual({ version: 2 });
  expect(facts.calls).toBe(2);
});

test('entries expire after the time limit even without a change', async () => {
  const cache = cacheWith(new CacheInvalidation(), 30);
  const facts = source();
  await cache.get('k', facts.load);
  facts.bump();
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(await cache.get('k', facts.load)).toEqual({ version: 2 });
});
