import { randomBytes } from 'node:crypto';
import type { TestGateway } from './gateway';
import { errorCode, gql } from './graphql-client';

export type RoleName = 'PLATFORM_ADMIN' | 'TENANT_ADMIN' | 'MEMBER' | 'AUDITOR';

/** Every test file shares one database, so names and emails carry a random suffix. */
export const uniqueSuffix = (): string => randomBytes(5).toString('hex');
export const uniqueName = (prefix: string): string => `${prefix}-${uniqueSuffix()}`;
export const uniqueEmail = (prefix = 'user'): string => `${prefix}-${uniqueSuffix()}@example.test`;

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

/** Runs an operation that must succeed and returns its data; fails loudly with the errors otherwise. */
export async function ok<T = Record<string, any>>(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const res = await gql<T>(gw.url, query, variables, token);
  if (res.errors?.length || !res.data) {
    throw new Error(`expected success, got HTTP ${res.status}: ${JSON.stringify(res.errors ?? res.raw)}`);
  }
  return res.data;
}

/** Runs an operation that must fail, and returns the first error's code. */
export async function failCode(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<unknown> {
  const res = await gql(gw.url, query, variables, token);
  if (!res.errors?.length) throw new Error(`expected an error, got ${res.raw}`);
  return errorCode(res);
}

const CREATE_TENANT = /* GraphQL */ `
  mutation ($input: CreateTenantInput!) {
    createTenant(input: $input) { tenant { id name } admin { id email role } token }
  }
`;

/** A new tenant (created by the platform admin) with its first TENANT_ADMIN and that admin's token. */
export async function createTenantWithAdmin(gw: TestGateway, prefix = 'tenant'): Promise<TenantFixture> {
  const tenantName = uniqueName(prefix);
  const adminEmail = uniqueEmail('admin');
  const data = await ok(gw, gw.platformToken, CREATE_TENANT, { input: { name: tenantName, adminEmail, adminName: 'Admin' } });
  const created = data.createTenant;
  return { tenantId: created.tenant.id, tenantName, adminId: created.admin.id, adminEmail, adminToken: created.token };
}

const CREATE_USER = /* GraphQL */ `
  mutation ($input: CreateUserInput!) { createUser(input: $input) { id email role } }
`;

export const ISSUE_TOKEN = /* GraphQL */ `
  mutation ($input: IssueApiTokenInput!) {
    issueApiToken(input: $input) { token apiToken { id name expiresAt lastUsedAt revokedAt user { id } } }
  }
`;

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

export const REVOKE_TOKEN = /* GraphQL */ `
  mutation ($id: ID!) { revokeApiToken(id: $id) { id revokedAt lastUsedAt } }
`;

export const ME = /* GraphQL */ `{ me { id email role tenant { id name } preferredModel } }`;
