/**
 * Credential resolution benchmark.
 *
 *   npm run build && node dist/bench/vault-resolve.js
 *
 * Starts a real gateway in this process (embedded PGlite in a temporary directory, or a fresh
 * database on the server named by DATABASE_URL, dropped afterwards), creates tenants and keys
 * through the GraphQL API, then measures:
 *
 * - vault only: `CredentialVault.open` on rows already loaded, data key cached
 *   (AES-256-GCM open + cache lookup: the cryptographic cost of a resolve);
 * - full resolve: `KeySelector.resolve` as a chat request calls it (load the caller's
 *   credential rows, open, record lastUsedAt), sequential and concurrent;
 * - keyring unwrap calls per 1,000 resolves across several tenants, starting from an empty
 *   data-key cache, counted by a decorator around the real local keyring.
 *
 * Prints one JSON summary on stdout (progress goes to stderr). Environment knobs:
 * BENCH_TENANTS (8), BENCH_RESOLVES (5000), BENCH_VAULT_OPENS (20000), BENCH_CONCURRENCY (16).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { Gateway } from '../src/app';
import type { Principal } from '../src/auth/principal';
import { generateBearerToken } from '../src/auth/bearer-token';
import { createLogger } from '../src/common/logger';
import { loadConfig } from '../src/config';
import { CredentialScope } from '../src/modules/credential/credential-scope';
import { CredentialEntity } from '../src/modules/credential/credential.entity';
import { KeySource } from '../src/modules/credential/key-source';
import { Provider } from '../src/modules/credential/provider';
import { sealedCredential } from '../src/modules/credential/sealed-credential';
import { TenantEntity } from '../src/modules/tenant/tenant.entity';
import { Role } from '../src/modules/user/role';
import type { GeneratedDataKey, Keyring, WrappedDataKey } from '../src/vault/keyring/keyring';
import { Keyrings } from '../src/vault/keyring/keyrings';
import { LocalKeyring } from '../src/vault/keyring/local.keyring';
import { ForkOnUse } from '../src/db/fork-on-use';
import { benchDatabase } from './support/gateway-child';
import { percentiles } from './support/stats';

/** Latencies measured in nanoseconds, summarised in milliseconds to 4 decimals (µs scale). */
const summarize = (samplesNs: bigint[]) =>
  percentiles(
    samplesNs.map((ns) => Number(ns) / 1e6),
    4,
  );

const TENANTS = intFromEnv('BENCH_TENANTS', 8);
const RESOLVES = intFromEnv('BENCH_RESOLVES', 5_000);
const VAULT_OPENS = intFromEnv('BENCH_VAULT_OPENS', 20_000);
const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 16);

function intFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

const progress = (message: string) => process.stderr.write(`[vault-resolve] ${message}\n`);

/** The real keyring, with its calls counted. */
class CountingKeyring implements Keyring {
  readonly calls = { generate: 0, wrap: 0, unwrap: 0, rewrap: 0 };

  constructor(private readonly inner: Keyring) {}

  get kind() {
    return this.inner.kind;
  }

  get masterKeyId() {
    return this.inner.masterKeyId;
  }

  reset(): void {
    this.calls.generate = this.calls.wrap = this.calls.unwrap = this.calls.rewrap = 0;
  }

  generateDataKey(tenantId: string): Promise<GeneratedDataKey> {
    this.calls.generate++;
    return this.inner.generateDataKey(tenantId);
  }

  wrapDataKey(tenantId: string, plaintext: Buffer): Promise<WrappedDataKey> {
    this.calls.wrap++;
    return this.inner.wrapDataKey(tenantId, plaintext);
  }

  unwrapDataKey(tenantId: string, wrapped: WrappedDataKey): Promise<Buffer> {
    this.calls.unwrap++;
    return this.inner.unwrapDataKey(tenantId, wrapped);
  }

  rewrapDataKey(tenantId: string, wrapped: WrappedDataKey): Promise<WrappedDataKey> {
    this.calls.rewrap++;
    return this.inner.rewrapDataKey(tenantId, wrapped);
  }
}

async function graphql<T>(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function machine() {
  const cpuModel = (() => {
    try {
      return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
    } catch {
      return cpus()[0]?.model;
    }
  })();
  return {
    nproc: availableParallelism(),
    cpu: cpuModel,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

async function main(): Promise<void> {
  const database = await benchDatabase();
  const masterKey = randomBytes(32);
  const keyring = new CountingKeyring(new LocalKeyring(masterKey));
  const token = generateBearerToken();
  const config = loadConfig({
    NODE_ENV: 'development',
    PORT: '0',
    HOST: '127.0.0.1',
    KEYWARD_MASTER_KEY: masterKey.toString('base64'),
    KEYWARD_BOOTSTRAP_TOKEN: token,
    LOG_LEVEL: 'warn',
    ...database.env,
  });
  const gateway = await Gateway.start({
    config,
    log: createLogger('warn', process.stderr),
    keyrings: new Keyrings(keyring),
  });
  try {
    progress(`gateway on ${gateway.url} (${database.kind}); creating ${TENANTS} tenants`);
    const principals: Array<{ principal: Principal; tenant: TenantEntity }> = [];
    for (let i = 0; i < TENANTS; i++) {
      const created = await graphql<{ createTenant: { tenant: { id: string }; admin: { id: string }; token: string } }>(
        gateway.url,
        token,
        'mutation ($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } admin { id } token } }',
        { input: { name: `bench-${i}-${randomBytes(4).toString('hex')}`, adminEmail: `admin-${i}@bench.test` } },
      );
      const { tenant, admin, token: adminToken } = created.createTenant;
      // A tenant key and the admin's personal key: AUTO resolves to the personal one.
      for (const scope of ['TENANT', 'PERSONAL']) {
        await graphql(
          gateway.url,
          adminToken,
          'mutation ($input: SetCredentialInput!) { setCredential(input: $input) { id } }',
          {
            input: {
              provider: 'ANTHROPIC',
              scope,
              apiKey: `sk-ant-api03-${randomBytes(69).toString('base64url')}`,
              validate: false,
            },
          },
        );
      }
      const em = gateway.orm.em.fork();
      principals.push({
        principal: { userId: admin.id, tenantId: tenant.id, role: Role.TENANT_ADMIN, tokenId: 'bench' },
        tenant: await em.findOneOrFail(TenantEntity, { id: tenant.id }),
      });
    }
    const { vault, keys, dataKeys } = gateway.services;

    // 1. Vault only: rows loaded once, data keys cached.
    const em = gateway.orm.em.fork();
    const rows = await em.find(CredentialEntity, { tenant: { $in: principals.map((p) => p.principal.tenantId) } });
    for (let i = 0; i < 2_000; i++) await vault.open(em, sealedCredential(rows[i % rows.length]));
    const vaultSamples: bigint[] = [];
    const vaultStart = process.hrtime.bigint();
    for (let i = 0; i < VAULT_OPENS; i++) {
      const start = process.hrtime.bigint();
      await vault.open(em, sealedCredential(rows[i % rows.length]));
      vaultSamples.push(process.hrtime.bigint() - start);
    }
    const vaultSeconds = Number(process.hrtime.bigint() - vaultStart) / 1e9;
    progress(`vault only: ${VAULT_OPENS} opens in ${vaultSeconds.toFixed(2)} s`);

    const resolveOnce = (i: number) => {
      const { principal, tenant } = principals[i % principals.length];
      return keys.resolve(new ForkOnUse(gateway.orm.em), principal, tenant, Provider.ANTHROPIC, KeySource.AUTO);
    };

    // 2. Full resolve, one at a time (cached data keys, after warm-up).
    for (let i = 0; i < 500; i++) await resolveOnce(i);
    const resolveSamples: bigint[] = [];
    const resolveStart = process.hrtime.bigint();
    for (let i = 0; i < RESOLVES; i++) {
      const start = process.hrtime.bigint();
      await resolveOnce(i);
      resolveSamples.push(process.hrtime.bigint() - start);
    }
    const resolveSeconds = Number(process.hrtime.bigint() - resolveStart) / 1e9;
    progress(`full resolve: ${RESOLVES} sequential in ${resolveSeconds.toFixed(2)} s`);

    // 2b. Where the full resolve's time goes: its two database statements on their own.
    const ids = rows.map((row) => row.id);
    const phase = async (run: (i: number) => Promise<unknown>) => {
      const samples: bigint[] = [];
      for (let i = 0; i < 200; i++) await run(i);
      for (let i = 0; i < 2_000; i++) {
        const start = process.hrtime.bigint();
        await run(i);
        samples.push(process.hrtime.bigint() - start);
      }
      return summarize(samples);
    };
    const rowQuery = await phase((i) => {
      const { principal } = principals[i % principals.length];
      return gateway.orm.em.fork().find(CredentialEntity, {
        tenant: principal.tenantId,
        provider: Provider.ANTHROPIC,
        $or: [{ scope: CredentialScope.TENANT }, { scope: CredentialScope.PERSONAL, owner: principal.userId }],
      });
    });
    const lastUsedUpdate = await phase((i) =>
      gateway.orm.em.fork().nativeUpdate(CredentialEntity, { id: ids[i % ids.length] }, { lastUsedAt: new Date() }),
    );
    progress('measured the row query and the lastUsedAt update alone');

    // 3. Full resolve, CONCURRENCY at a time, from an empty data-key cache: throughput and
    //    keyring unwraps per 1,000 resolves across the tenants.
    dataKeys.cache.clear();
    keyring.reset();
    const concurrentSamples: bigint[] = [];
    let next = 0;
    const concurrentStart = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RESOLVES) {
          const i = next++;
          const start = process.hrtime.bigint();
          await resolveOnce(i);
          concurrentSamples.push(process.hrtime.bigint() - start);
        }
      }),
    );
    const concurrentSeconds = Number(process.hrtime.bigint() - concurrentStart) / 1e9;
    const unwraps = keyring.calls.unwrap;
    progress(
      `full resolve: ${RESOLVES} with concurrency ${CONCURRENCY} in ${concurrentSeconds.toFixed(2)} s, ${unwraps} unwraps`,
    );

    const target = 0.2;
    const vaultOnly = summarize(vaultSamples);
    const resolveSequential = summarize(resolveSamples);
    const summary = {
      benchmark: 'vault-resolve',
      machine: machine(),
      database: database.kind,
      tenants: TENANTS,
      credentialsPerTenant: 2,
      vaultOnly: { ...vaultOnly, opsPerSecond: Math.round(VAULT_OPENS / vaultSeconds) },
      resolveSequential: { ...resolveSequential, resolvesPerSecond: Math.round(RESOLVES / resolveSeconds) },
      resolveParts: { credentialRowQuery: rowQuery, lastUsedAtUpdate: lastUsedUpdate },
      resolveConcurrent: {
        concurrency: CONCURRENCY,
        ...summarize(concurrentSamples),
        resolvesPerSecond: Math.round(RESOLVES / concurrentSeconds),
      },
      keyring: {
        coldCacheResolves: RESOLVES,
        unwrapCalls: unwraps,
        unwrapsPer1000Resolves: Math.round((unwraps / RESOLVES) * 1000 * 1000) / 1000,
        dataKeyCache: dataKeys.cache.stats(),
      },
      target: {
        p50UnderMs: target,
        vaultOnlyMeets: vaultOnly.p50Ms < target,
        fullResolveMeets: resolveSequential.p50Ms < target,
      },
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await gateway.stop();
    await database.cleanup();
    masterKey.fill(0);
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
