import { CacheInvalidation, type TenantChange } from '../../src/cache/cache-invalidation';
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

/** A loader held until `release()`, counting its calls; answers with the version current at release. */
function gatedSource(tenantId = 'tenant-a') {
  const facts = source(tenantId);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    facts,
    release: () => release(),
    load: async (): Promise<Loaded<Fact>> => {
      const answer = facts.load();
      await gate;
      return { tenantId, value: { version: (await answer).value!.version } };
    },
  };
}

test('concurrent reads of a key that is not cached share one load', async () => {
  const cache = cacheWith(new CacheInvalidation());
  const gated = gatedSource();
  const reads = Array.from({ length: 16 }, () => cache.get('k', gated.load));
  gated.release();
  expect(await Promise.all(reads)).toEqual(Array(16).fill({ version: 1 }));
  expect(gated.facts.calls).toBe(1);
  expect(await cache.get('k', gated.load)).toEqual({ version: 1 });
  expect(gated.facts.calls).toBe(1);
});

test('a read after a change does not join a load that started before it', async () => {
  const invalidation = new CacheInvalidation();
  const cache = cacheWith(invalidation);
  const before = gatedSource();
  const early = cache.get('k', before.load);

  await invalidation.tenantChanged({ tenantId: 'tenant-a' });
  const after = source();
  after.bump();
  expect(await cache.get('k', after.load)).toEqual({ version: 2 });
  expect(after.calls).toBe(1);

  before.release();
  expect(await early).toEqual({ version: 1 });
  expect(await cache.get('k', after.load)).toEqual({ version: 2 });
  expect(after.calls).toBe(1);
});

test('a failed load fails every read that shared it, and the next read loads again', async () => {
  const cache = cacheWith(new CacheInvalidation());
  let fail!: (error: Error) => void;
  const failing = () => new Promise<Loaded<Fact>>((_, reject) => (fail = reject));
  const reads = [cache.get('k', failing), cache.get('k', failing)];
  fail(new Error('connection lost'));
  for (const read of reads) await expect(read).rejects.toThrow('connection lost');

  const facts = source();
  expect(await cache.get('k', facts.load)).toEqual({ version: 1 });
  expect(facts.calls).toBe(1);
});

/**
 * Loads tenant-a's key 'a' while `change` is announced (null: a change to everything), then
 * asks again after the fact moved on: how many loads it took, and what the second read got.
 */
async function readAgainAfterChangeDuringLoad(change: TenantChange | null) {
  const invalidation = new CacheInvalidation();
  const cache = cacheWith(invalidation);
  const a = gatedSource('tenant-a');
  const pending = cache.get('a', a.load);
  if (change) await invalidation.tenantChanged(change);
  else invalidation.invalidateLocally(null);
  a.release();
  expect(await pending).toEqual({ version: 1 });

  a.facts.bump();
  return { second: await cache.get('a', a.facts.load), loads: a.facts.calls };
}

test("a change to another tenant while a load runs does not stop that load's value being kept", async () => {
  expect(await readAgainAfterChangeDuringLoad({ tenantId: 'tenant-b' })).toEqual({
    second: { version: 1 },
    loads: 1,
  });
});

test('a change to everything while a load runs stops its value being kept, as one to its own tenant does', async () => {
  for (const change of [null, { tenantId: 'tenant-a' }]) {
    expect(await readAgainAfterChangeDuringLoad(change)).toEqual({ second: { version: 2 }, loads: 2 });
  }
});

test('a change remembered for a running load does not affect loads that start after it', async () => {
  const invalidation = new CacheInvalidation();
  const cache = cacheWith(invalidation);
  const first = gatedSource('tenant-a');
  const running = cache.get('x', first.load);
  await invalidation.tenantChanged({ tenantId: 'tenant-a' });
  const later = gatedSource('tenant-a');
  const pending = cache.get('a', later.load);
  later.release();
  first.release();
  await Promise.all([running, pending]);

  later.facts.bump();
  expect(await cache.get('a', later.facts.load)).toEqual({ version: 1 });
  expect(later.facts.calls).toBe(1);
});
