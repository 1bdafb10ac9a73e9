import { randomBytes } from 'node:crypto';
import {
  CREATE_TENANT,
  CREATE_USER,
  ISSUE_TOKEN,
  MODELS,
  SET_CREDENTIAL,
  UPDATE_POLICY,
  type CredentialScope,
  type RoleName,
  type TenantPolicyArgs,
} from './documents';
import type { TestGateway } from './gateway';
import { ok } from './graphql-client';

/** Every test file shares one database, so names and emails carry a random suffix. */
export const uniqueSuffix = (): string => randomBytes(5).toString('hex');
export const uniqueName = (prefix: string): string => `${prefix}-${uniqueSuffix()}`;
export const uniqueEmail = (prefix = 'user'): string => `${prefix}-${uniqueSuffix()}@example.test`;

/** A fresh Anthropic key: `sk-ant-api03-` and 69 random bytes in base64url, like a real one. */
export const anthropicKey = (): string => `sk-ant-api03-${randomBytes(69).toString('base64url')}`;

/** A fresh OpenAI project key: `sk-proj-` and 120 random base64url characters. */
export const openAiKey = (): string => `sk-proj-${randomBytes(90).toString('base64url')}`;

/** A fresh OpenRouter key: `sk-or-v1-` and 64 hex characters, like a real one. */
export const openRouterKey = (): string => `sk-or-v1-${randomBytes(32).toString('hex')}`;

export type ChatProviderName = 'ANTHROPIC' | 'OPENAI' | 'OPENROUTER';

export interface TenantFixture {
  tenantId: string;
  tenantName: string;
  adminId: string;
  adminEmail: string;
  adminToken: string;
}

export interface UserFixture {
  userId: string;
  email: string;
  role: RoleName;
  token: string;
  tokenId: string;
}

/** A new tenant (created by the platform admin) with its first TENANT_ADMIN and that admin's token. */
export async function createTenantWithAdmin(
  gw: Pick<TestGateway, 'url' | 'platformToken'>,
  prefix = 'tenant',
): Promise<TenantFixture> {
  const tenantName = uniqueName(prefix);
  const adminEmail = uniqueEmail('admin');
  const data = await ok(gw, gw.platformToken, CREATE_TENANT, {
    input: { name: tenantName, adminEmail, adminName: 'Admin' },
  });
  const created = data.createTenant;
  return { tenantId: created.tenant.id, tenantName, adminId: created.admin.id, adminEmail, adminToken: created.token };
}

/** A user of the admin's tenant with the given role, and a token the admin issued for them. */
export async function createMember(
  gw: Pick<TestGateway, 'url'>,
  adminToken: string,
  role: RoleName = 'MEMBER',
): Promise<UserFixture> {
  const email = uniqueEmail(role.toLowerCase());
  const user = (await ok(gw, adminToken, CREATE_USER, { input: { email, name: `A ${role}`, role } })).createUser;
  const issued = await issueToken(gw, adminToken, { name: uniqueName('token'), userId: user.id });
  return { userId: user.id, email, role, token: issued.token, tokenId: issued.id };
}

/** Issues a token through the API; returns the bearer string and the token's id. */
export async function issueToken(
  gw: Pick<TestGateway, 'url'>,
  callerToken: string,
  input: { name: string; userId?: string; expiresAt?: string },
): Promise<{ token: string; id: string }> {
  const data = await ok(gw, callerToken, ISSUE_TOKEN, { input });
  return { token: data.issueApiToken.token, id: data.issueApiToken.apiToken.id };
}

/** Stores an Anthropic key without asking the provider (validate: false); returns the credential id. */
export const storeAnthropicKey = (
  gw: Pick<TestGateway, 'url'>,
  token: string,
  scope: CredentialScope,
  apiKey: string,
): Promise<string> => storeProviderKey(gw, token, 'ANTHROPIC', scope, apiKey);

/** Stores a key of `provider` without asking the provider (validate: false); returns the credential id. */
export async function storeProviderKey(
  gw: Pick<TestGateway, 'url'>,
  token: string,
  provider: ChatProviderName,
  scope: CredentialScope,
  apiKey: string,
): Promise<string> {
  const data = await ok(gw, token, SET_CREDENTIAL, { input: { provider, scope, apiKey, validate: false } });
  return data.setCredential.id;
}

export const updatePolicy = (gw: Pick<TestGateway, 'url'>, adminToken: string, input: TenantPolicyArgs) =>
  ok(gw, adminToken, UPDATE_POLICY, { input });

/** A model's catalog prices (USD per million tokens) as the API reports them. */
export async function modelPrices(
  gw: Pick<TestGateway, 'url'>,
  token: string,
  model: string,
): Promise<{ input: number; output: number }> {
  const entry = (await ok(gw, token, MODELS)).models.find((candidate) => candidate.id === model);
  if (!entry) throw new Error(`${model} is not in the catalog`);
  return { input: entry.inputUsdPerMTok, output: entry.outputUsdPerMTok };
}

/** A seeded tenant: the TenantFixture fields, plus builders for what tests put in it. */
export interface SeededTenant extends TenantFixture {
  admin: { id: string; email: string; token: string };
  /** A new user of this tenant with `role` (MEMBER by default) and a token the admin issued. */
  member(role?: RoleName): Promise<UserFixture>;
  auditor(): Promise<UserFixture>;
  /** Stores an Anthropic personal key for `user` (a fresh one unless given); returns its id and the key. */
  personalKey(user: { token: string }, apiKey?: string): Promise<{ id: string; apiKey: string }>;
  /** Stores the tenant's shared Anthropic key (a fresh one unless given). */
  tenantKey(apiKey?: string): Promise<{ id: string; apiKey: string }>;
  policy(input: TenantPolicyArgs): Promise<void>;
}

/**
 * Seeds what black-box tests need through the API, as a client would:
 * `const tenant = await seed(gw).tenant(); const alice = await tenant.member();`.
 */
export function seed(gw: Pick<TestGateway, 'url' | 'platformToken'>) {
  return {
    async tenant(options: { prefix?: string; policy?: TenantPolicyArgs } = {}): Promise<SeededTenant> {
      const fixture = await createTenantWithAdmin(gw, options.prefix);
      const storeKey = async (token: string, scope: CredentialScope, apiKey = anthropicKey()) => ({
        id: await storeAnthropicKey(gw, token, scope, apiKey),
        apiKey,
      });
      const tenant: SeededTenant = {
        ...fixture,
        admin: { id: fixture.adminId, email: fixture.adminEmail, token: fixture.adminToken },
        member: (role = 'MEMBER') => createMember(gw, fixture.adminToken, role),
        auditor: () => createMember(gw, fixture.adminToken, 'AUDITOR'),
        personalKey: (user, apiKey) => storeKey(user.token, 'PERSONAL', apiKey),
        tenantKey: (apiKey) => storeKey(fixture.adminToken, 'TENANT', apiKey),
        policy: async (input) => {
          await updatePolicy(gw, fixture.adminToken, input);
        },
      };
      if (options.policy && Object.keys(options.policy).length) await tenant.policy(options.policy);
      return tenant;
    },
  };
}
