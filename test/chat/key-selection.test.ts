import {
  chat,
  chatTenant,
  refusedChat,
  startChatEnvironment,
  uniqueText,
  upstreamFor,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { CREATE_AGENT, MODELS, SET_PREFERRED_MODEL, type ChatInputArgs } from '../support/documents';
import { anthropicKey, createMember, storeAnthropicKey, updatePolicy } from '../support/fixtures';
import { ok } from '../support/graphql-client';

/**
 * docs/api.md's key-source table and model precedence over a real graphql-ws client: which key source and
 * model serve a chat, the exact key the upstream received, and every refusal code.
 */

let env: ChatEnvironment;
let platformKey: string;

beforeAll(async () => {
  platformKey = anthropicKey();
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: platformKey });
});

afterAll(async () => {
  await env?.stop();
});

/**
 * Runs a chat that must be served, and checks what ChatStarted reported against what the upstream
 * received: the key, the model, and the reply the client got.
 */
async function expectServed(
  token: string,
  input: Omit<ChatInputArgs, 'message'>,
  expected: { keySource: string; key: string; model?: string },
) {
  const message = uniqueText('pick');
  const run = await chat(env.gw, token, { message, ...input });
  expect(run.errors).toBeUndefined();
  expect(run.typenames[0]).toBe('ChatStarted');
  expect(run.started).toMatchObject({ keySource: expected.keySource, model: expected.model ?? 'claude-haiku-4-5' });
  expect(run.completed).toBeDefined();
  expect(run.text).toBe(`Echo: ${message}`);
  const upstream = upstreamFor(env.anthropic, message);
  expect(upstream).toHaveLength(1);
  expect(upstream[0].apiKey).toBe(expected.key);
  expect(upstream[0].body?.model).toBe(run.started!.model);
  return run;
}

/** A refused chat reaches no upstream and gives `code` before any event. */
async function expectRefused(token: string, input: Omit<ChatInputArgs, 'message'>, code: string) {
  const message = uniqueText('refused');
  expect(await refusedChat(env.gw, token, { message, ...input })).toBe(code);
  expect(upstreamFor(env.anthropic, message)).toHaveLength(0);
}

describe('key source', () => {
  let full: ChatTenant; // personal, tenant and platform keys available
  let personalKey: string;
  let tenantKey: string;

  beforeAll(async () => {
    full = await chatTenant(env.gw);
    personalKey = anthropicKey();
    tenantKey = anthropicKey();
    await storeAnthropicKey(env.gw, full.member.token, 'PERSONAL', personalKey);
    await storeAnthropicKey(env.gw, full.adminToken, 'TENANT', tenantKey);
  });

  test('AUTO (also the default) prefers the personal key over the tenant and platform keys', async () => {
    await expectServed(full.member.token, { keySource: 'AUTO' }, { keySource: 'PERSONAL', key: personalKey });
    await expectServed(full.member.token, {}, { keySource: 'PERSONAL', key: personalKey });
  });

  test('AUTO falls back to the tenant key for a user without a personal key', async () => {
    const other = await createMember(env.gw, full.adminToken);
    await expectServed(other.token, { keySource: 'AUTO' }, { keySource: 'TENANT', key: tenantKey });
  });

  test('AUTO falls back to the platform key when the tenant allows it and has no key', async () => {
    const bare = await chatTenant(env.gw, { allowPlatformKey: true });
    await expectServed(bare.member.token, { keySource: 'AUTO' }, { keySource: 'PLATFORM', key: platformKey });
  });

  test('AUTO with the platform key forbidden uses the tenant key, and with nothing gives NO_CREDENTIAL', async () => {
    const closed = await chatTenant(env.gw, { allowPlatformKey: false });
    await expectRefused(closed.member.token, { keySource: 'AUTO' }, 'NO_CREDENTIAL');
    const shared = anthropicKey();
    await storeAnthropicKey(env.gw, closed.adminToken, 'TENANT', shared);
    await expectServed(closed.member.token, { keySource: 'AUTO' }, { keySource: 'TENANT', key: shared });
  });

  test('explicit PERSONAL, TENANT and PLATFORM each use exactly that key', async () => {
    await expectServed(full.member.token, { keySource: 'PERSONAL' }, { keySource: 'PERSONAL', key: personalKey });
    await expectServed(full.member.token, { keySource: 'TENANT' }, { keySource: 'TENANT', key: tenantKey });
    await expectServed(full.member.token, { keySource: 'PLATFORM' }, { keySource: 'PLATFORM', key: platformKey });
  });

  test('PERSONAL without a personal key: PERSONAL_KEY_MISSING; TENANT without a tenant key: TENANT_KEY_MISSING', async () => {
    const bare = await chatTenant(env.gw);
    await expectRefused(bare.member.token, { keySource: 'PERSONAL' }, 'PERSONAL_KEY_MISSING');
    await expectRefused(bare.member.token, { keySource: 'TENANT' }, 'TENANT_KEY_MISSING');
    // Another user's personal key is not the caller's.
    const other = await createMember(env.gw, full.adminToken);
    await expectRefused(other.token, { keySource: 'PERSONAL' }, 'PERSONAL_KEY_MISSING');
  });

  test('PLATFORM when the tenant forbids it: PLATFORM_KEY_DISABLED, even with other keys present', async () => {
    const closed = await chatTenant(env.gw, { allowPlatformKey: false });
    await storeAnthropicKey(env.gw, closed.member.token, 'PERSONAL', anthropicKey());
    await expectRefused(closed.member.token, { keySource: 'PLATFORM' }, 'PLATFORM_KEY_DISABLED');
  });

  test('an AUDITOR cannot chat (FORBIDDEN), whatever keys exist', async () => {
    const auditor = await createMember(env.gw, full.adminToken, 'AUDITOR');
    await expectRefused(auditor.token, { keySource: 'AUTO' }, 'FORBIDDEN');
    await expectRefused(auditor.token, { keySource: 'TENANT' }, 'FORBIDDEN');
  });
});

describe('without a platform key configured', () => {
  let bare: ChatEnvironment;

  beforeAll(async () => {
    bare = await startChatEnvironment({ ANTHROPIC_API_KEY: undefined });
  });

  afterAll(async () => {
    await bare?.stop();
  });

  test('PLATFORM with the tenant allowing it, and AUTO with nothing, give NO_CREDENTIAL', async () => {
    const tenant = await chatTenant(bare.gw, { allowPlatformKey: true });
    expect(await refusedChat(bare.gw, tenant.member.token, { message: uniqueText(), keySource: 'PLATFORM' })).toBe(
      'NO_CREDENTIAL',
    );
    expect(await refusedChat(bare.gw, tenant.member.token, { message: uniqueText(), keySource: 'AUTO' })).toBe(
      'NO_CREDENTIAL',
    );
    expect(bare.anthropic.requests).toHaveLength(0);

    const models = (await ok(bare.gw, tenant.member.token, MODELS)).models as Array<{ keySources: string[] }>;
    expect(models.every((model) => model.keySources.length === 0)).toBe(true);
  });
});

describe('model', () => {
  let tenant: ChatTenant;
  let key: string;

  beforeAll(async () => {
    tenant = await chatTenant(env.gw, { defaultModel: 'claude-opus-5-5' });
    key = anthropicKey();
    await storeAnthropicKey(env.gw, tenant.adminToken, 'TENANT', key);
  });

  const served = (token: string, input: Omit<ChatInputArgs, 'message'>, model: string) =>
    expectServed(token, input, { keySource: 'TENANT', key, model });

  test('precedence: input.model > agent model > preferred model > tenant defaultModel', async () => {
    const user = await createMember(env.gw, tenant.adminToken);
    await served(user.token, {}, 'claude-opus-5-5');

    await ok(env.gw, user.token, SET_PREFERRED_MODEL, { model: 'claude-sonnet-5-5' });
    await served(user.token, {}, 'claude-sonnet-5-5');

    const withModel = (
      await ok(env.gw, user.token, CREATE_AGENT, {
        input: { name: 'Haiku agent', systemPrompt: 'Be brief.', model: 'claude-haiku-4-5' },
      })
    ).createAgent;
    const withoutModel = (
      await ok(env.gw, user.token, CREATE_AGENT, { input: { name: 'Plain agent', systemPrompt: 'Be kind.' } })
    ).createAgent;
    await served(user.token, { agentId: withModel.id }, 'claude-haiku-4-5');
    await served(user.token, { agentId: withoutModel.id }, 'claude-sonnet-5-5');
    await served(user.token, { agentId: withModel.id, model: 'claude-opus-5-5' }, 'claude-opus-5-5');
    await served(user.token, { model: 'claude-haiku-4-5' }, 'claude-haiku-4-5');
  });

  test('an unknown model is UNKNOWN_MODEL, one outside allowedModels MODEL_NOT_ALLOWED', async () => {
    await expectRefused(tenant.member.token, { model: 'claude-imaginary-9' }, 'UNKNOWN_MODEL');

    const narrow = await chatTenant(env.gw, { allowedModels: ['claude-haiku-4-5'] });
    await storeAnthropicKey(env.gw, narrow.member.token, 'PERSONAL', anthropicKey());
    await expectRefused(narrow.member.token, { model: 'claude-opus-5-5' }, 'MODEL_NOT_ALLOWED');
    await expectRefused(narrow.member.token, { model: 'claude-imaginary-9' }, 'UNKNOWN_MODEL');
  });

  test('a preferred model the tenant later disallows is MODEL_NOT_ALLOWED', async () => {
    const narrowing = await chatTenant(env.gw);
    await storeAnthropicKey(env.gw, narrowing.member.token, 'PERSONAL', anthropicKey());
    await ok(env.gw, narrowing.member.token, SET_PREFERRED_MODEL, { model: 'claude-sonnet-5-5' });
    await updatePolicy(env.gw, narrowing.adminToken, { allowedModels: ['claude-haiku-4-5'] });
    await expectRefused(narrowing.member.token, {}, 'MODEL_NOT_ALLOWED');
  });
});

describe('models', () => {
  test('lists the key sources that would serve each model for the caller, and none outside allowedModels', async () => {
    const tenant = await chatTenant(env.gw, { allowedModels: ['claude-haiku-4-5', 'claude-sonnet-5-5'] });
    const listFor = async (token: string) =>
      Object.fromEntries(
        ((await ok(env.gw, token, MODELS)).models as Array<{ id: string; keySources: string[] }>).map((model) => [
          model.id,
          model.keySources,
        ]),
      );

    expect(await listFor(tenant.member.token)).toEqual({
      'claude-haiku-4-5': ['PLATFORM'],
      'claude-sonnet-4-5': [],
      'claude-opus-4-5': [],
      'claude-sonnet-5-5': ['PLATFORM'],
      'claude-opus-5-5': [],
      'claude-fable-5-1': [],
      // Outside allowedModels (and no OpenAI or OpenRouter platform key in this gateway).
      'gpt-5-mini': [],
      'gpt-4.1-mini': [],
      'openai/gpt-5-mini': [],
      'google/gemini-2.5-flash': [],
    });

    await storeAnthropicKey(env.gw, tenant.adminToken, 'TENANT', anthropicKey());
    await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
    const other = await createMember(env.gw, tenant.adminToken);
    expect((await listFor(tenant.member.token))['claude-haiku-4-5']).toEqual(['PERSONAL', 'TENANT', 'PLATFORM']);
    expect((await listFor(other.token))['claude-sonnet-5-5']).toEqual(['TENANT', 'PLATFORM']);
    expect((await listFor(other.token))['claude-opus-5-5']).toEqual([]);

    await updatePolicy(env.gw, tenant.adminToken, { allowPlatformKey: false });
    expect((await listFor(other.token))['claude-haiku-4-5']).toEqual(['TENANT']);
  });

  test('carries the catalog prices of src/catalog/models.json', async () => {
    const tenant = await chatTenant(env.gw);
    const models = (await ok(env.gw, tenant.member.token, MODELS)).models;
    expect(models).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: 'claude-haiku-4-5',
          provider: 'ANTHROPIC',
          inputUsdPerMTok: 1,
          outputUsdPerMTok: 5,
        }),
        expect.objectContaining({ id: 'claude-sonnet-4-5', inputUsdPerMTok: 3, outputUsdPerMTok: 15 }),
        expect.objectContaining({ id: 'claude-opus-4-5', inputUsdPerMTok: 5, outputUsdPerMTok: 25 }),
        expect.objectContaining({ id: 'claude-sonnet-5-5', inputUsdPerMTok: 2, outputUsdPerMTok: 10 }),
        expect.objectContaining({ id: 'claude-opus-5-5', inputUsdPerMTok: 4, outputUsdPerMTok: 20 }),
      ]),
    );
  });
});
