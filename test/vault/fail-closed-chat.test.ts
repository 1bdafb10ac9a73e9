import { Provider } from '../../src/modules/credential/provider';
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
import { sql } from '../support/sql';
import { providerKey, RecordingClient } from '../support/vault-fixtures';

/**
 * Fail closed, end to end: a chat whose stored key does not decrypt is refused with
 * KEY_UNAVAILABLE before anything goes upstream, and never served with another key (tenant or
 * platform), over a real graphql-ws subscription and the local Anthropic API server.
 */

let env: ChatEnvironment;
let platformKey: string;
let tenant: ChatTenant;
let personalKey: string;
let tenantKey: string;
let personalId: string;
let original: Buffer;

beforeAll(async () => {
  platformKey = providerKey(Provider.ANTHROPIC);
  // The ciphertext is corrupted behind the gateway's back; with no cache the next chat reads it.
  env = await startChatEnvironment({ ANTHROPIC_API_KEY: platformKey, KEYWARD_CACHE_TTL_SECONDS: '0' });
  tenant = await chatTenant(env.gw);
  const client = new RecordingClient(env.gw);
  personalKey = providerKey(Provider.ANTHROPIC);
  tenantKey = providerKey(Provider.ANTHROPIC);
  personalId = (
    await client.storeCredential(tenant.member.token, { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: personalKey })
  ).id;
  await client.storeCredential(tenant.adminToken, { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: tenantKey });
  original = (await sql<{ ciphertext: Buffer }>('select ciphertext from credentials where id = $1', [personalId]))[0]
    .ciphertext;
});

afterEach(async () => {
  await sql('update credentials set ciphertext = $2 where id = $1', [personalId, original]);
});

afterAll(() => env?.stop());

const corruptPersonalKey = async () => {
  const corrupted = Buffer.from(original);
  corrupted[corrupted.length - 1] ^= 0x01;
  await sql('update credentials set ciphertext = $2 where id = $1', [personalId, corrupted]);
};

test('control: AUTO serves the personal key', async () => {
  const message = uniqueText('closed-control');
  const run = await chat(env.gw, tenant.member.token, { message });
  expect(run.started).toMatchObject({ keySource: 'PERSONAL' });
  expect(upstreamFor(env.anthropic, message).map((request) => request.apiKey)).toEqual([personalKey]);
});

test('AUTO with a personal key that does not decrypt: KEY_UNAVAILABLE, nothing sent upstream with any key', async () => {
  await corruptPersonalKey();
  const requestsBefore = env.anthropic.requests.length;
  const message = uniqueText('closed-auto');

  expect(await refusedChat(env.gw, tenant.member.token, { message })).toBe('KEY_UNAVAILABLE');

  expect(upstreamFor(env.anthropic, message)).toEqual([]);
  const sent = env.anthropic.requests.slice(requestsBefore);
  expect(sent.filter((request) => [tenantKey, platformKey, personalKey].includes(request.apiKey ?? ''))).toEqual([]);
});

test('PERSONAL with that key: KEY_UNAVAILABLE too; TENANT still serves the healthy tenant key', async () => {
  await corruptPersonalKey();
  const refused = uniqueText('closed-personal');
  expect(await refusedChat(env.gw, tenant.member.token, { message: refused, keySource: 'PERSONAL' })).toBe(
    'KEY_UNAVAILABLE',
  );
  expect(upstreamFor(env.anthropic, refused)).toEqual([]);

  const served = uniqueText('closed-tenant');
  const run = await chat(env.gw, tenant.member.token, { message: served, keySource: 'TENANT' });
  expect(run.started).toMatchObject({ keySource: 'TENANT' });
  expect(upstreamFor(env.anthropic, served).map((request) => request.apiKey)).toEqual([tenantKey]);
});
