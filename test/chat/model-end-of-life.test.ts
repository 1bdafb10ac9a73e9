import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chatTenant,
  completedChat,
  chatClient,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { CREATE_AGENT, SET_PREFERRED_MODEL, UPDATE_POLICY } from '../support/documents';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { failCode, ok } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * Models past their end of life: `models` shows deprecated / endOfLife / retired, and a chat or a
 * new setting that names a retired model is refused with MODEL_RETIRED before anything is sent.
 * The catalog is an operator file with dates far in the past and future, so the test does not
 * depend on today's date.
 */

const MODELS_WITH_LIFE = /* GraphQL */ `
  {
    models {
      id
      deprecated
      endOfLife
      retired
    }
  }
`;

const CATALOG = {
  models: [
    { id: 'claude-haiku-4-5', provider: 'ANTHROPIC', displayName: 'Current', inputUsdPerMTok: 1, outputUsdPerMTok: 5 },
    {
      id: 'claude-retired-test',
      provider: 'ANTHROPIC',
      displayName: 'Retired',
      inputUsdPerMTok: 3,
      outputUsdPerMTok: 15,
      endOfLife: '2020-01-31',
    },
    {
      id: 'claude-sunset-test',
      provider: 'ANTHROPIC',
      displayName: 'Deprecated, still served',
      inputUsdPerMTok: 5,
      outputUsdPerMTok: 25,
      endOfLife: '2999-12-31',
    },
  ],
};

let dir: string;
let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kw-models-'));
  const file = join(dir, 'models.json');
  writeFileSync(file, JSON.stringify(CATALOG));
  env = await startChatEnvironment({ KEYWARD_MODELS_FILE: file });
  tenant = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
});

afterAll(async () => {
  await env?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('models shows whether each model is deprecated, when it retires and whether it has', async () => {
  const { models } = (await ok(env.gw, tenant.member.token, MODELS_WITH_LIFE)) as {
    models: Array<{ id: string; deprecated: boolean; endOfLife: string | null; retired: boolean }>;
  };
  expect(models).toEqual([
    { id: 'claude-haiku-4-5', deprecated: false, endOfLife: null, retired: false },
    { id: 'claude-retired-test', deprecated: true, endOfLife: '2020-01-31T00:00:00.000Z', retired: true },
    { id: 'claude-sunset-test', deprecated: true, endOfLife: '2999-12-31T00:00:00.000Z', retired: false },
  ]);
});

test('a chat for a retired model is MODEL_RETIRED before any event: nothing sent upstream, no usage row', async () => {
  const message = uniqueText('retired');
  const before = await sql(`select count(*)::int as n from usage_records where tenant_id = $1`, [tenant.tenantId]);
  expect(await refusedChat(env.gw, tenant.member.token, { message, model: 'claude-retired-test' })).toBe(
    'MODEL_RETIRED',
  );
  expect(upstreamFor(env.anthropic, message)).toHaveLength(0);
  const after = await sql(`select count(*)::int as n from usage_records where tenant_id = $1`, [tenant.tenantId]);
  expect(after[0].n).toBe(before[0].n);
});

test('a deprecated model is still served until its end of life', async () => {
  const client = chatClient(env.gw, tenant.member.token);
  try {
    const message = uniqueText('sunset');
    const run = await completedChat(client, { message, model: 'claude-sunset-test' });
    expect(run.started).toMatchObject({ model: 'claude-sunset-test', keySource: 'PERSONAL' });
    expect(upstreamFor(env.anthropic, message).map((request) => request.body?.model)).toEqual(['claude-sunset-test']);
  } finally {
    await client.dispose();
  }
});

test('an agent, a preferred model or a tenant default naming a retired model is refused', async () => {
  expect(
    await failCode(env.gw, tenant.member.token, CREATE_AGENT, {
      input: { name: 'old', systemPrompt: 'Be brief.', model: 'claude-retired-test' },
    }),
  ).toBe('MODEL_RETIRED');
  expect(await failCode(env.gw, tenant.member.token, SET_PREFERRED_MODEL, { model: 'claude-retired-test' })).toBe(
    'MODEL_RETIRED',
  );
  expect(
    await failCode(env.gw, tenant.adminToken, UPDATE_POLICY, { input: { defaultModel: 'claude-retired-test' } }),
  ).toBe('MODEL_RETIRED');
  await ok(env.gw, tenant.adminToken, UPDATE_POLICY, { input: { defaultModel: 'claude-sunset-test' } });
});

test('a tenant whose default model has retired gets MODEL_RETIRED for chats that name no model, and can still change other settings', async () => {
  const stale = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, stale.member.token, 'PERSONAL', anthropicKey());
  // A default chosen before the model retired.
  await sql(`update tenants set default_model = 'claude-retired-test' where id = $1`, [stale.tenantId]);
  expect(await refusedChat(env.gw, stale.member.token, { message: uniqueText('stale') })).toBe('MODEL_RETIRED');
  await ok(env.gw, stale.adminToken, UPDATE_POLICY, { input: { requestsPerMinute: 30 } });
  await ok(env.gw, stale.adminToken, UPDATE_POLICY, { input: { defaultModel: 'claude-haiku-4-5' } });
  const client = chatClient(env.gw, stale.member.token);
  try {
    const run = await completedChat(client, { message: uniqueText('fresh') });
    expect(run.started.model).toBe('claude-haiku-4-5');
  } finally {
    await client.dispose();
  }
});
