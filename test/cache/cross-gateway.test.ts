import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { INVALIDATION_CHANNEL } from '../../src/cache/pg-invalidation-channel';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import {
  chat,
  chatTenant,
  startGatewayRetrying,
  uniqueText,
  upstreamFor,
  type ChatTenant,
} from '../support/chat-harness';
import { ME, REVOKE_TOKEN } from '../support/documents';
import { anthropicKey, storeAnthropicKey, updatePolicy } from '../support/fixtures';
import { type TestGateway } from '../support/gateway';
import { errorCode, failCode, ok } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * Two gateway processes' worth of caches on one database: what one gateway changes, the other
 * serves at once (caches are per process, invalidated through LISTEN/NOTIFY).
 * Gateway B is always warmed up first, so a stale cache in B would show.
 */

let anthropic: AnthropicServer;
let gwA: TestGateway;
let gwB: TestGateway;

/**
 * This file's connections, by their application_name (node-postgres takes it from PGAPPNAME; jest
 * gives each test file its own process.env): other files' gateways share the database.
 */
const APPLICATION_NAME = `kw-cross-gateway-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  process.env.PGAPPNAME = APPLICATION_NAME;
  anthropic = await startAnthropicServer();
  const env = { ANTHROPIC_BASE_URL: anthropic.baseURL, KEYWARD_DRAIN_SECONDS: '1' };
  gwA = await startGatewayRetrying({ env });
  gwB = await startGatewayRetrying({ env });
}, 60_000);

afterAll(async () => {
  await gwA?.stop();
  await gwB?.stop();
  await anthropic?.close();
});

async function tenantWithKeys(): Promise<ChatTenant & { personalKey: string; tenantKey: string; personalId: string }> {
  const tenant = await chatTenant(gwA);
  const personalKey = anthropicKey();
  const tenantKey = anthropicKey();
  const personalId = await storeAnthropicKey(gwA, tenant.member.token, 'PERSONAL', personalKey);
  await storeAnthropicKey(gwA, tenant.adminToken, 'TENANT', tenantKey);
  return { ...tenant, personalKey, tenantKey, personalId };
}

/** Chats through `gw` and returns the key the upstream received. */
async function keyUsedBy(gw: TestGateway, token: string): Promise<string | undefined> {
  const text = uniqueText('cache');
  const run = await chat(gw, token, { message: text, model: 'claude-haiku-4-5' });
  expect(run.typenames.at(-1)).toBe('ChatCompleted');
  const [request] = upstreamFor(anthropic, text);
  return request.apiKey;
}

test('a personal key deleted through A is not used by B, whose next chat falls back to the tenant key', async () => {
  const tenant = await tenantWithKeys();
  expect(await keyUsedBy(gwB, tenant.member.token)).toBe(tenant.personalKey);

  await ok(gwA, tenant.member.token, 'mutation ($id: ID!) { deleteCredential(id: $id) }', { id: tenant.personalId });

  expect(await keyUsedBy(gwB, tenant.member.token)).toBe(tenant.tenantKey);
});

test('a key replaced through A is the one B sends next', async () => {
  const tenant = await tenantWithKeys();
  expect(await keyUsedBy(gwB, tenant.member.token)).toBe(tenant.personalKey);

  const replacement = anthropicKey();
  await storeAnthropicKey(gwA, tenant.member.token, 'PERSONAL', replacement);

  expect(await keyUsedBy(gwB, tenant.member.token)).toBe(replacement);
});

test('a data-key rotation through A leaves B opening the re-encrypted keys', async () => {
  const tenant = await tenantWithKeys();
  expect(await keyUsedBy(gwB, tenant.member.token)).toBe(tenant.personalKey);

  await ok(gwA, tenant.adminToken, 'mutation { rotateDataKey { id } }');

  expect(await keyUsedBy(gwB, tenant.member.token)).toBe(tenant.personalKey);
});

test('a policy change through A applies to the next chat on B', async () => {
  const tenant = await tenantWithKeys();
  expect(await keyUsedBy(gwB, tenant.member.token)).toBe(tenant.personalKey);

  await updatePolicy(gwA, tenant.adminToken, {
    allowedModels: ['claude-sonnet-5-5'],
    defaultModel: 'claude-sonnet-5-5',
  });

  const run = await chat(gwB, tenant.member.token, { message: uniqueText('refused'), model: 'claude-haiku-4-5' });
  expect(errorCode(run)).toBe('MODEL_NOT_ALLOWED');
  const allowed = await chat(gwB, tenant.member.token, { message: uniqueText('default') });
  expect(allowed.events[0]).toMatchObject({ __typename: 'ChatStarted', model: 'claude-sonnet-5-5' });
});

test('a preferred model set through A is what B picks next', async () => {
  const tenant = await tenantWithKeys();
  const before = await chat(gwB, tenant.member.token, { message: uniqueText('before') });
  expect(before.events[0]).toMatchObject({ model: 'claude-haiku-4-5' });

  await ok(gwA, tenant.member.token, 'mutation ($model: String) { setPreferredModel(model: $model) { id } }', {
    model: 'claude-opus-5-5',
  });

  const after = await chat(gwB, tenant.member.token, { message: uniqueText('after') });
  expect(after.events[0]).toMatchObject({ model: 'claude-opus-5-5' });
});

test('a token revoked through A is refused by B on its next request', async () => {
  const tenant = await tenantWithKeys();
  expect((await ok(gwB, tenant.member.token, ME)).me.id).toBe(tenant.member.userId);

  await ok(gwA, tenant.adminToken, REVOKE_TOKEN, { id: tenant.member.tokenId });

  expect(await failCode(gwB, tenant.member.token, ME)).toBe('UNAUTHENTICATED');
});

/** Whether this database passes a notification from one connection to another. */
async function deliversNotifications(): Promise<boolean> {
  const url = process.env.KEYWARD_TEST_DATABASE_URL!;
  const listener = new Client({ connectionString: url });
  await listener.connect();
  try {
    const channel = `keyward_test_${process.pid}`;
    await listener.query(`listen ${channel}`);
    const arrived = new Promise<boolean>((resolve) => {
      listener.on('notification', () => resolve(true));
      setTimeout(() => resolve(false), 1_000);
    });
    await sql('select pg_notify($1, $2)', [channel, 'probe']);
    return await arrived;
  } finally {
    await listener.end();
  }
}

/**
 * Waits until `gw` has received every notification sent before this call: notifications reach a
 * listener in order, so once a marker sent now has arrived, the earlier ones (say, the changes
 * gateway A announced while setting up a tenant) can no longer drop what is cached after this.
 */
async function notificationsSettled(gw: TestGateway): Promise<void> {
  const marker = randomUUID();
  const arrived = new Promise<void>((resolve) =>
    gw.gateway.services.caches.onInvalidate((change) => change?.tenantId === marker && resolve()),
  );
  await sql('select pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify({ tenantId: marker })]);
  await arrived;
}

test('caches are on exactly when the database delivers notifications, and a NOTIFY from elsewhere drops them', async () => {
  const delivers = await deliversNotifications();
  expect(gwB.gateway.services.caches.cachesUsable).toBe(delivers);

  const tenant = await tenantWithKeys();
  if (delivers) await notificationsSettled(gwB);
  expect((await ok(gwB, tenant.member.token, ME)).me.id).toBe(tenant.member.userId);
  // Revoked behind the gateways' backs, as another tool with database access would.
  await sql('update api_tokens set revoked_at = now() where id = $1', [tenant.member.tokenId]);

  if (delivers) {
    // Served from B's cache until someone announces the change...
    expect((await ok(gwB, tenant.member.token, ME)).me.id).toBe(tenant.member.userId);
    await sql('select pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify({ tenantId: tenant.tenantId })]);
    await waitFor(async () => (await failCode(gwB, tenant.member.token, ME)) === 'UNAUTHENTICATED');
  } else {
    // ...while without notifications nothing is cached, so the change is seen at once.
    expect(await failCode(gwB, tenant.member.token, ME)).toBe('UNAUTHENTICATED');
  }
});

test("another process's probe (sent when any gateway connects) leaves the caches as they are", async () => {
  if (!(await deliversNotifications())) {
    // Without notifications the caches are never on; a probe has nothing to leave alone.
    expect(gwB.gateway.services.caches.cachesUsable).toBe(false);
    return;
  }
  await waitFor(async () => gwB.gateway.services.caches.cachesUsable);
  const tenant = await tenantWithKeys();
  expect((await ok(gwB, tenant.member.token, ME)).me.id).toBe(tenant.member.userId);
  await sql('update api_tokens set revoked_at = now() where id = $1', [tenant.member.tokenId]);
  await sql('select pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify({ probe: randomUUID() })]);
  await notificationsSettled(gwB); // delivered after the probe
  expect((await ok(gwB, tenant.member.token, ME)).me.id).toBe(tenant.member.userId);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('when the listening connection drops, caches are bypassed until it is back', async () => {
  if (!(await deliversNotifications())) {
    // Without notifications the caches are never on; nothing to drop.
    expect(gwB.gateway.services.caches.cachesUsable).toBe(false);
    return;
  }
  await waitFor(async () => gwB.gateway.services.caches.cachesUsable);
  const tenant = await tenantWithKeys();
  expect((await ok(gwB, tenant.member.token, ME)).me.id).toBe(tenant.member.userId);

  // Kill B's listening backend, as a server restart or a network cut would (A's too: both are
  // this file's; other files' gateways on the same database are left alone).
  const listening = `select pid from pg_stat_activity
    where query ilike $1 and datname = current_database() and application_name = $2`;
  const listeners = await sql<{ pid: number }>(listening, [`listen ${INVALIDATION_CHANNEL}%`, APPLICATION_NAME]);
  expect(listeners).toHaveLength(2); // one per gateway
  await sql(`select pg_terminate_backend(pid) from (${listening}) as listener`, [
    `listen ${INVALIDATION_CHANNEL}%`,
    APPLICATION_NAME,
  ]);
  await waitFor(async () => !gwB.gateway.services.caches.cachesUsable);

  // While it is down, a change nobody announces is still seen at once: nothing is cached.
  await sql('update api_tokens set revoked_at = now() where id = $1', [tenant.member.tokenId]);
  expect(await failCode(gwB, tenant.member.token, ME)).toBe('UNAUTHENTICATED');

  // It reconnects by itself, and caching resumes.
  await waitFor(async () => gwB.gateway.services.caches.cachesUsable, 10_000);
  expect(gwB.logs.lines.some((line) => line.includes('cache invalidation channel lost'))).toBe(true);
});
