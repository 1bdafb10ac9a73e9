import { randomBytes } from 'node:crypto';
import type { Principal } from '../../src/auth/principal';
import { KeywardError } from '../../src/common/errors';
import { CredentialEntity } from '../../src/modules/credential/credential.entity';
import { KeySource } from '../../src/modules/credential/key-source';
import { sealedCredential } from '../../src/modules/credential/sealed-credential';
import { Provider } from '../../src/modules/credential/provider';
import { TenantEntity } from '../../src/modules/tenant/tenant.entity';
import { Role } from '../../src/modules/user/role';
import type { ResolvedKey } from '../../src/modules/credential/key-selector';
import { anthropicKey, type TenantFixture, type UserFixture } from './fixtures';
import type { TestGateway } from './gateway';
import {
  CREDENTIALS,
  SET_CREDENTIAL,
  type CredentialView,
  type ResultOf,
  type SetCredentialArgs,
  type VariablesOf,
} from './documents';
import { post, succeeded, type GraphQLResponse } from './graphql-client';
import { sqlOn } from './sql';

export const PROVIDERS: readonly Provider[] = Object.values(Provider);

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const base62 = (length: number): string => {
  let out = '';
  for (const byte of randomBytes(length)) out += BASE62[byte % 62];
  return out;
};

/** A fresh, well-formed key for the provider, generated at test time (never a real key). */
export function providerKey(provider: Provider): string {
  switch (provider) {
    case Provider.ANTHROPIC:
      return anthropicKey();
    case Provider.OPENAI:
      return `sk-proj-${randomBytes(48).toString('base64url')}`;
    case Provider.OPENROUTER:
      return `sk-or-v1-${randomBytes(32).toString('hex')}`;
    case Provider.GITHUB:
      return randomBytes(1)[0] % 2 ? `ghp_${base62(36)}` : `github_pat_${base62(22)}_${base62(59)}`;
    case Provider.LINEAR:
      return `lin_api_${base62(40)}`;
  }
}

/**
 * Sends every operation of a test through one place, so the test can later check that no
 * response body it ever received contained a secret.
 */
export class RecordingClient {
  readonly bodies: string[] = [];

  constructor(private readonly gw: Pick<TestGateway, 'url'>) {}

  async send<D extends string>(
    token: string | undefined,
    query: D,
    variables?: VariablesOf<D>,
  ): Promise<GraphQLResponse<ResultOf<D>>> {
    const res = await post(this.gw, token, query, variables);
    this.bodies.push(res.raw);
    return res;
  }

  /** Must succeed; returns data. */
  async ok<D extends string>(token: string | undefined, query: D, variables?: VariablesOf<D>): Promise<ResultOf<D>> {
    return succeeded(await this.send(token, query, variables)).data;
  }

  setCredential(token: string, input: SetCredentialArgs): Promise<GraphQLResponse<{ setCredential: CredentialView }>> {
    return this.send(token, SET_CREDENTIAL, { input: { validate: false, ...input } });
  }

  async storeCredential(token: string, input: SetCredentialArgs): Promise<CredentialView> {
    return (await this.ok(token, SET_CREDENTIAL, { input: { validate: false, ...input } })).setCredential;
  }

  async credentials(token: string): Promise<CredentialView[]> {
    return (await this.ok(token, CREDENTIALS)).credentials;
  }
}

/** Who calls an internal service: what a bearer token would have established. */
export interface Actor {
  tenantId: string;
  userId: string;
  role: Role;
}

export const adminOf = (tenant: TenantFixture): Actor => ({
  tenantId: tenant.tenantId,
  userId: tenant.adminId,
  role: Role.TENANT_ADMIN,
});
export const userOf = (tenant: TenantFixture, user: UserFixture): Actor => ({
  tenantId: tenant.tenantId,
  userId: user.userId,
  role: user.role as Role,
});

const principalOf = (actor: Actor): Principal => ({ ...actor, tokenId: '00000000-0000-4000-8000-000000000000' });

/**
 * The gateway's own key resolution for a request (what chat uses before calling a provider),
 * on a fresh EntityManager fork as a request would have.
 */
export async function resolveKey(
  gw: Pick<TestGateway, 'gateway'>,
  actor: Actor,
  provider: Provider,
  source: KeySource = KeySource.AUTO,
): Promise<ResolvedKey> {
  const em = gw.gateway.orm.em.fork();
  const tenant = await em.findOneOrFail(TenantEntity, { id: actor.tenantId });
  return gw.gateway.services.keys.resolve({ em }, principalOf(actor), tenant, provider, source);
}

/** Opens one stored credential row through the vault, as loaded fresh from the database. */
export async function openCredentialRow(gw: Pick<TestGateway, 'gateway'>, credentialId: string): Promise<string> {
  const em = gw.gateway.orm.em.fork();
  const row = await em.findOneOrFail(CredentialEntity, { id: credentialId });
  return gw.gateway.services.vault.open(em, sealedCredential(row));
}

/** Awaits a promise that must reject with a KeywardError and returns that error. */
export async function keywardErrorOf(promise: Promise<unknown>): Promise<KeywardError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome))
    throw new Error(`expected a KeywardError, but it resolved with ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof KeywardError)) throw outcome.error;
  return outcome.error;
}

export async function expectKeyUnavailable(promise: Promise<unknown>): Promise<void> {
  const error = await keywardErrorOf(promise);
  expect(error.code).toBe('KEY_UNAVAILABLE');
}

/** The master key every test gateway's local keyring uses in this run (see global-setup). */
export const testMasterKey = (): Buffer => {
  const key = process.env.KEYWARD_TEST_MASTER_KEY;
  if (!key) throw new Error('KEYWARD_TEST_MASTER_KEY is not set: run the tests through jest');
  return Buffer.from(key, 'base64');
};

export interface CredentialRow {
  id: string;
  tenant_id: string;
  provider: string;
  scope: string;
  owner_id: string | null;
  ciphertext: Buffer;
  data_key_version: number;
  last4: string;
}

export const credentialRows = (url: string, tenantId: string): Promise<CredentialRow[]> =>
  sqlOn<CredentialRow & Record<string, unknown>>(
    url,
    'select id, tenant_id, provider, scope, owner_id, ciphertext, data_key_version, last4 from credentials where tenant_id = $1 order by id',
    [tenantId],
  );

export interface DataKeyRow {
  id: string;
  tenant_id: string;
  version: number;
  keyring: string;
  master_key_id: string;
  wrapped_key: Buffer;
  rewrapped_at: Date | null;
  retired_at: Date | null;
}

export const dataKeyRows = (url: string, tenantId?: string): Promise<DataKeyRow[]> =>
  sqlOn<DataKeyRow & Record<string, unknown>>(
    url,
    `select id, tenant_id, version, keyring, master_key_id, wrapped_key, rewrapped_at, retired_at from tenant_data_keys
     ${tenantId ? 'where tenant_id = $1' : ''} order by tenant_id, version`,
    tenantId ? [tenantId] : [],
  );

/** Runs `count` tasks with at most `concurrency` in flight; results in order. */
export async function pooled<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await task(index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

export { startSharedGateway } from './gateway';
