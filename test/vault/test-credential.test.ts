import { chatTenant, startChatEnvironment, type ChatEnvironment, type ChatTenant } from '../support/chat-harness';
import { AUDIT_EVENTS } from '../support/documents';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { failCode, ok } from '../support/graphql-client';

/**
 * testCredential: the stored key is opened by the vault and checked with the provider again;
 * the answer is recorded on the credential and audited as credential.test.
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
const SET_OPENAI = /* GraphQL */ `
  mutation ($input: SetCredentialInput!) {
    setCredential(input: $input) {
      id
    }
  }
`;

let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment();
  tenant = await chatTenant(env.gw);
});

afterAll(async () => {
  await env?.stop();
});

beforeEach(() => env.anthropic.reset());

test('a key the provider accepts is VALID; the check used the stored key and is recorded and audited', async () => {
  const key = anthropicKey();
  const id = await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', key);
  const before = Date.now();
  const data = await ok(env.gw, tenant.member.token, TEST_CREDENTIAL, { id });
  expect(data.testCredential).toMatchObject({ result: 'VALID', credential: { id, lastCheckResult: 'VALID' } });
  expect(new Date(data.testCredential.credential.lastCheckedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
  const checks = env.anthropic.requests.filter((request) => request.path === '/v1/models');
  expect(checks.map((request) => request.apiKey)).toEqual([key]);
  expect(JSON.stringify(data)).not.toContain(key.slice(10));

  const audit = await ok(env.gw, tenant.adminToken, AUDIT_EVENTS, {
    filter: { action: 'credential.test', targetId: id },
  });
  const events = audit.auditEvents.edges.map((edge) => edge.node);
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ outcome: 'SUCCESS', actorId: tenant.member.userId });
  expect(JSON.parse(events[0].detail as string)).toMatchObject({
    result: 'VALID',
    provider: 'ANTHROPIC',
    scope: 'PERSONAL',
  });
});

test('a key the provider now rejects is REJECTED, and that is what the credential shows', async () => {
  const key = anthropicKey();
  const id = await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', key);
  env.anthropic.rejectKey(key);
  const data = await ok(env.gw, tenant.member.token, TEST_CREDENTIAL, { id });
  expect(data.testCredential).toMatchObject({ result: 'REJECTED', credential: { lastCheckResult: 'REJECTED' } });
  expect(data.testCredential.message).toMatch(/rejected/);
  const listed = await ok(env.gw, tenant.member.token, `{ credentials { id lastCheckResult lastCheckedAt } }`);
  expect(listed.credentials.find((row: { id: string }) => row.id === id)).toMatchObject({
    lastCheckResult: 'REJECTED',
  });
});

test("an OpenAI key is checked with OpenAI's model list; a restricted key (403) counts as valid and says so", async () => {
  const apiKey = `sk-${'a'.repeat(40)}`;
  const created = await ok(env.gw, tenant.member.token, SET_OPENAI, {
    input: { provider: 'OPENAI', scope: 'PERSONAL', apiKey },
  });
  env.openai.rejectKey(apiKey, 403);
  const data = await ok(env.gw, tenant.member.token, TEST_CREDENTIAL, { id: created.setCredential.id });
  expect(data.testCredential).toMatchObject({ result: 'VALID', credential: { lastCheckResult: 'VALID' } });
  expect(data.testCredential.message).toMatch(/restricted/);
  const checks = env.openai.requests.filter((request) => request.path.endsWith('/models'));
  expect(checks.map((request) => request.apiKey)).toEqual([apiKey, apiKey]);
  expect(env.anthropic.requests).toHaveLength(0);
});

test('the same permissions as deleteCredential: another member cannot test a personal key, an admin can', async () => {
  const id = await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
  const other = await chatTenant(env.gw);
  expect(await failCode(env.gw, other.member.token, TEST_CREDENTIAL, { id })).toBe('NOT_FOUND');
  const colleague = await ok(
    env.gw,
    tenant.adminToken,
    `mutation ($i: CreateUserInput!) { createUser(input: $i) { id } }`,
    {
      i: { email: `colleague-${Date.now()}@example.test`, role: 'MEMBER' },
    },
  );
  const token = await ok(
    env.gw,
    tenant.adminToken,
    `mutation ($i: IssueApiTokenInput!) { issueApiToken(input: $i) { token } }`,
    {
      i: { name: 'colleague', userId: colleague.createUser.id },
    },
  );
  expect(await failCode(env.gw, token.issueApiToken.token, TEST_CREDENTIAL, { id })).toBe('FORBIDDEN');
  const data = await ok(env.gw, tenant.adminToken, TEST_CREDENTIAL, { id });
  expect(data.testCredential.result).toBe('VALID');
  expect(await failCode(env.gw, tenant.member.token, TEST_CREDENTIAL, { id: 'not-a-uuid' })).toBe('NOT_FOUND');
});
