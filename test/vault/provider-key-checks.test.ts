import { startChatEnvironment, chatTenant, type ChatEnvironment, type ChatTenant } from '../support/chat-harness';
import { AUDIT_EVENTS, CREDENTIALS, SET_CREDENTIAL } from '../support/documents';
import { githubToken, startGitHubServer, type GitHubServer } from '../support/github-server';
import { post, ok } from '../support/graphql-client';
import { linearKey, startLinearServer, type LinearServer } from '../support/linear-server';

/**
 * Live key checks for GitHub (`GET /user`) and Linear (GraphQL `viewer`), on save and with
 * testCredential, against local servers that speak each API and record the key they were sent.
 */

const TEST_CREDENTIAL = /* GraphQL */ `
  mutation ($id: ID!) {
    testCredential(id: $id) {
      result
      message
      credential {
        id
        lastCheckedAt
        lastCheckResult
      }
    }
  }
`;

let env: ChatEnvironment;
let github: GitHubServer;
let linear: LinearServer;
let tenant: ChatTenant;
/** Every key a test used, checked against logs at the end. */
const usedKeys: string[] = [];

beforeAll(async () => {
  github = await startGitHubServer();
  linear = await startLinearServer();
  env = await startChatEnvironment({ GITHUB_API_URL: github.baseURL, LINEAR_API_URL: linear.baseURL });
  tenant = await chatTenant(env.gw);
});

afterAll(async () => {
  await env?.stop();
  await github?.close();
  await linear?.close();
});

beforeEach(() => {
  github.reset();
  linear.reset();
});

const save = (provider: 'GITHUB' | 'LINEAR', apiKey: string) => {
  usedKeys.push(apiKey);
  return post(env.gw, tenant.member.token, SET_CREDENTIAL, { input: { provider, scope: 'PERSONAL', apiKey } });
};

const savedId = async (provider: 'GITHUB' | 'LINEAR', apiKey: string): Promise<string> => {
  const res = await save(provider, apiKey);
  expect(res.errors).toBeUndefined();
  return res.data!.setCredential.id;
};

const testCredential = (id: string) => post(env.gw, tenant.member.token, TEST_CREDENTIAL, { id });

async function auditDetails(action: string, targetId?: string): Promise<Array<Record<string, unknown>>> {
  const page = await ok(env.gw, tenant.adminToken, AUDIT_EVENTS, {
    filter: { action, ...(targetId ? { targetId } : {}) },
    first: 100,
  });
  return page.auditEvents.edges.map((edge) => JSON.parse(edge.node.detail as string) as Record<string, unknown>);
}

const personalCredentialIds = async (): Promise<string[]> =>
  (await ok(env.gw, tenant.member.token, CREDENTIALS)).credentials.map((row) => row.id);

describe('GitHub', () => {
  test('a token GitHub accepts is stored after GET /user with the token; its scopes are audited', async () => {
    const token = githubToken();
    github.acceptToken(token, ['repo', 'read:org']);
    const res = await save('GITHUB', token);
    expect(res.errors).toBeUndefined();
    expect(res.data!.setCredential).toMatchObject({ provider: 'GITHUB', last4: token.slice(-4) });
    expect(github.requests.map((request) => [request.method, request.path])).toEqual([['GET', '/user']]);
    expect(github.requests[0].authorization).toBe(`Bearer ${token}`);
    expect(github.requests[0].headers['user-agent']).toBe('keyward');
    expect(res.raw).not.toContain(token.slice(4));
    const [detail] = await auditDetails('credential.set', res.data!.setCredential.id);
    expect(detail).toMatchObject({ provider: 'GITHUB', scopes: ['repo', 'read:org'] });
  });

  test('a token GitHub rejects (401 Bad credentials) is INVALID_PROVIDER_KEY and nothing is stored', async () => {
    const before = await personalCredentialIds();
    const token = githubToken();
    const res = await save('GITHUB', token);
    expect(res.errors?.[0]?.extensions?.code).toBe('INVALID_PROVIDER_KEY');
    expect(res.errors?.[0]?.message).toBe('GitHub rejected this key');
    expect(github.presentedTokens()).toEqual([token]);
    expect(res.raw).not.toContain(token.slice(4));
    expect(await personalCredentialIds()).toEqual(before);
    const details = await auditDetails('credential.validate');
    expect(details[0]).toMatchObject({ provider: 'GITHUB', code: 'INVALID_PROVIDER_KEY' });
  });

  test('GitHub down (503) on save is UPSTREAM_ERROR, retryable, and nothing is stored', async () => {
    const before = await personalCredentialIds();
    github.setMode('outage');
    const token = githubToken();
    github.acceptToken(token, []);
    const res = await save('GITHUB', token);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
    expect(await personalCredentialIds()).toEqual(before);
  });

  test('testCredential: VALID with the scopes in the message and the audit, recorded on the credential', async () => {
    const token = githubToken();
    github.acceptToken(token, ['repo', 'workflow']);
    const id = await savedId('GITHUB', token);
    github.reset();
    const res = await testCredential(id);
    expect(res.errors).toBeUndefined();
    expect(res.data!.testCredential).toMatchObject({ result: 'VALID', credential: { id, lastCheckResult: 'VALID' } });
    expect(res.data!.testCredential.message).toBe('The provider accepted this key (scopes: repo, workflow)');
    expect(github.presentedTokens()).toEqual([token]);
    expect(res.raw).not.toContain(token.slice(4));
    const [detail] = await auditDetails('credential.test', id);
    expect(detail).toEqual({ provider: 'GITHUB', scope: 'PERSONAL', result: 'VALID', scopes: ['repo', 'workflow'] });
  });

  test('testCredential: a classic token without scopes says so; a fine-grained token reports none', async () => {
    const classic = githubToken();
    github.acceptToken(classic, []);
    const classicId = await savedId('GITHUB', classic);
    expect((await testCredential(classicId)).data!.testCredential.message).toBe(
      'The provider accepted this key (scopes: none)',
    );
    const fineGrained = `github_pat_${githubToken().slice(4)}`;
    github.acceptToken(fineGrained, null);
    const other = await chatTenant(env.gw);
    usedKeys.push(fineGrained);
    const created = await ok(env.gw, other.member.token, SET_CREDENTIAL, {
      input: { provider: 'GITHUB', scope: 'PERSONAL', apiKey: fineGrained },
    });
    const tested = await ok(env.gw, other.member.token, TEST_CREDENTIAL, { id: created.setCredential.id });
    expect(tested.testCredential).toMatchObject({ result: 'VALID', message: 'The provider accepted this key' });
  });

  test('testCredential: REJECTED once GitHub no longer accepts the token', async () => {
    const token = githubToken();
    github.acceptToken(token, ['repo']);
    const id = await savedId('GITHUB', token);
    github.reset();
    github.revokeToken(token);
    const res = await testCredential(id);
    expect(res.data!.testCredential).toMatchObject({ result: 'REJECTED', credential: { lastCheckResult: 'REJECTED' } });
    expect(github.presentedTokens()).toEqual([token]);
    const [detail] = await auditDetails('credential.test', id);
    expect(detail).toEqual({ provider: 'GITHUB', scope: 'PERSONAL', result: 'REJECTED' });
  });

  test('testCredential: UNREACHABLE when GitHub answers 503 or drops the connection', async () => {
    const token = githubToken();
    github.acceptToken(token, ['repo']);
    const id = await savedId('GITHUB', token);
    github.setMode('outage');
    expect((await testCredential(id)).data!.testCredential).toMatchObject({
      result: 'UNREACHABLE',
      credential: { lastCheckResult: 'UNREACHABLE' },
    });
    github.setMode('drop');
    const dropped = await testCredential(id);
    expect(dropped.data!.testCredential.result).toBe('UNREACHABLE');
    expect(dropped.data!.testCredential.message).toMatch(/Could not reach the provider/);
  });
});

describe('Linear', () => {
  test('a key Linear accepts is stored after a viewer query with the key as the whole Authorization header', async () => {
    const key = linearKey();
    linear.acceptKey(key);
    const res = await save('LINEAR', key);
    expect(res.errors).toBeUndefined();
    expect(linear.requests.map((request) => [request.method, request.path])).toEqual([['POST', '/graphql']]);
    expect(linear.requests[0].authorization).toBe(key);
    expect(linear.queries()[0]).toMatch(/viewer\s*\{\s*id\s*\}/);
    expect(res.raw).not.toContain(key.slice(8));
  });

  test('a key Linear rejects (an authentication error) is INVALID_PROVIDER_KEY and nothing is stored', async () => {
    const before = await personalCredentialIds();
    const key = linearKey();
    const res = await save('LINEAR', key);
    expect(res.errors?.[0]?.extensions?.code).toBe('INVALID_PROVIDER_KEY');
    expect(res.errors?.[0]?.message).toBe('Linear rejected this key');
    expect(linear.requests.map((request) => request.authorization)).toEqual([key]);
    expect(await personalCredentialIds()).toEqual(before);
  });

  test('Linear down on save is UPSTREAM_ERROR and nothing is stored', async () => {
    const before = await personalCredentialIds();
    const key = linearKey();
    linear.acceptKey(key);
    linear.setMode('drop');
    const res = await save('LINEAR', key);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
    expect(await personalCredentialIds()).toEqual(before);
  });

  test('testCredential: VALID, then REJECTED, then UNREACHABLE, each recorded and audited', async () => {
    const key = linearKey();
    linear.acceptKey(key);
    const id = await savedId('LINEAR', key);
    const valid = await testCredential(id);
    expect(valid.data!.testCredential).toMatchObject({
      result: 'VALID',
      message: 'The provider accepted this key',
      credential: { lastCheckResult: 'VALID' },
    });

    const otherTenant = await chatTenant(env.gw);
    const unknown = linearKey();
    usedKeys.push(unknown);
    const stored = await ok(env.gw, otherTenant.member.token, SET_CREDENTIAL, {
      input: { provider: 'LINEAR', scope: 'PERSONAL', apiKey: unknown, validate: false },
    });
    const rejected = await ok(env.gw, otherTenant.member.token, TEST_CREDENTIAL, { id: stored.setCredential.id });
    expect(rejected.testCredential).toMatchObject({ result: 'REJECTED', credential: { lastCheckResult: 'REJECTED' } });

    linear.setMode('outage');
    const unreachable = await testCredential(id);
    expect(unreachable.data!.testCredential).toMatchObject({
      result: 'UNREACHABLE',
      credential: { lastCheckResult: 'UNREACHABLE' },
    });
    expect(linear.requests.map((request) => request.authorization)).toEqual([key, key, unknown, key]);
    const details = await auditDetails('credential.test', id);
    expect(details.map((detail) => detail.result)).toEqual(['UNREACHABLE', 'VALID']);
    expect(JSON.stringify([valid.raw, unreachable.raw, rejected])).not.toContain(key.slice(8));
  });
});

test('no key that was checked appears in a log line or an audit detail', async () => {
  expect(usedKeys.length).toBeGreaterThan(5);
  const logs = env.gw.logs.text;
  const audit = await ok(env.gw, tenant.adminToken, AUDIT_EVENTS, { first: 500 });
  const details = audit.auditEvents.edges.map((edge) => edge.node.detail ?? '').join('\n');
  for (const key of usedKeys) {
    const secret = key.slice(-20);
    expect(logs).not.toContain(secret);
    expect(details).not.toContain(secret);
  }
});
