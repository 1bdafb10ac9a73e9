import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import {
  chat,
  chatTenant,
  openChat,
  startChatEnvironment,
  uniqueText,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { UPDATE_POLICY } from '../support/documents';
import { anthropicKey, createTenantWithAdmin, storeAnthropicKey } from '../support/fixtures';
import { errorCode, gql } from '../support/graphql-client';
import { sqlLiteral } from '../support/sql';
import { HELD_CONNECTION_IDLE_MS } from '../../src/db/held-connection';
import { scrape, type MetricsSnapshot } from '../support/chat-metrics';

/**
 * docs/operations.md "Metrics": every listed metric is exposed on GET /metrics and moves after
 * the action it counts; with KEYWARD_METRICS_TOKEN set, only the bearer of that token may read.
 */

const METRICS_TOKEN = randomBytes(24).toString('base64url');
let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment({
    KEYWARD_METRICS_TOKEN: METRICS_TOKEN,
    // Each unwrapped data key serves one use, so the next use is a cache miss and a keyring unwrap.
    KEYWARD_DATA_KEY_MAX_USES: '1',
  });
  tenant = await chatTenant(env.gw);
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
});

beforeEach(() => env.anthropic.reset());

afterAll(async () => {
  await env?.stop();
});

const metrics = (): Promise<MetricsSnapshot> => scrape(env.gw.url, METRICS_TOKEN);
const metricsUrl = () => env.gw.url.replace(/\/graphql$/, '/metrics');

async function eventually(read: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await read())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('KEYWARD_METRICS_TOKEN: no bearer or a wrong one → 401, the token → 200 with Prometheus text', async () => {
  const without = await fetch(metricsUrl());
  expect(without.status).toBe(401);
  expect(without.headers.get('www-authenticate')).toBe('Bearer');
  expect(await without.text()).not.toContain('keyward_');

  const lastCharChanged = `${METRICS_TOKEN.slice(0, -1)}${METRICS_TOKEN.endsWith('x') ? 'y' : 'x'}`;
  for (const authorization of [
    `Bearer ${lastCharChanged}`,
    `Bearer ${METRICS_TOKEN}x`,
    'Bearer ',
    METRICS_TOKEN,
    `Basic ${METRICS_TOKEN}`,
  ]) {
    expect((await fetch(metricsUrl(), { headers: { authorization } })).status).toBe(401);
  }
  // A Keyward API token is not the metrics token.
  expect((await fetch(metricsUrl(), { headers: { authorization: `Bearer ${env.gw.platformToken}` } })).status).toBe(
    401,
  );

  const withToken = await fetch(metricsUrl(), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(withToken.status).toBe(200);
  expect(withToken.headers.get('content-type')).toMatch(/^text\/plain/);
});

test('every documented metric family is exposed, with its type', async () => {
  const snapshot = await metrics();
  expect({
    requests: snapshot.type('keyward_graphql_requests_total'),
    errors: snapshot.type('keyward_graphql_errors_total'),
    streams: snapshot.type('keyward_chat_streams_open'),
    ttft: snapshot.type('keyward_chat_time_to_first_token_seconds'),
    duration: snapshot.type('keyward_chat_stream_duration_seconds'),
    upstream: snapshot.type('keyward_upstream_errors_total'),
    keyring: snapshot.type('keyward_keyring_calls_total'),
    hits: snapshot.type('keyward_datakey_cache_hits_total'),
    misses: snapshot.type('keyward_datakey_cache_misses_total'),
    cacheSize: snapshot.type('keyward_datakey_cache_size'),
    poolUsed: snapshot.type('keyward_db_pool_used'),
    poolFree: snapshot.type('keyward_db_pool_free'),
    poolPending: snapshot.type('keyward_db_pool_pending'),
  }).toEqual({
    requests: 'counter',
    errors: 'counter',
    streams: 'gauge',
    ttft: 'histogram',
    duration: 'histogram',
    upstream: 'counter',
    keyring: 'counter',
    hits: 'counter',
    misses: 'counter',
    cacheSize: 'gauge',
    poolUsed: 'gauge',
    poolFree: 'gauge',
    poolPending: 'gauge',
  });
  expect(snapshot.has('keyward_process_cpu_user_seconds_total')).toBe(true);
  expect(snapshot.has('keyward_nodejs_heap_size_used_bytes')).toBe(true);
});

test('keyward_graphql_requests_total and keyward_graphql_errors_total count HTTP operations by name, outcome and code', async () => {
  const before = await metrics();
  await gql(env.gw.url, 'query MetricsMe { me { id } }', undefined, tenant.member.token);
  await gql(env.gw.url, 'query MetricsMe { me { id } }', undefined, tenant.member.token);
  await gql(env.gw.url, 'query MetricsDenied { users { id } }', undefined, tenant.member.token);
  await gql(env.gw.url, 'query MetricsAnonymous { me { id } }');
  const after = await metrics();

  const requests = (labels: Record<string, string>) =>
    after.value('keyward_graphql_requests_total', labels) - before.value('keyward_graphql_requests_total', labels);
  const errors = (labels: Record<string, string>) =>
    after.value('keyward_graphql_errors_total', labels) - before.value('keyward_graphql_errors_total', labels);
  expect(requests({ operation: 'MetricsMe', transport: 'http', outcome: 'success' })).toBe(2);
  expect(requests({ operation: 'MetricsDenied', transport: 'http', outcome: 'error' })).toBe(1);
  expect(errors({ operation: 'MetricsDenied', code: 'FORBIDDEN' })).toBe(1);
  // Without credentials a name is not a label: every such operation counts as `unauthenticated`.
  expect(requests({ operation: 'unauthenticated', transport: 'http', outcome: 'error' })).toBe(1);
  expect(errors({ operation: 'unauthenticated', code: 'UNAUTHENTICATED' })).toBe(1);
  expect(after.text).not.toContain('MetricsAnonymous');
  expect(errors({ operation: 'MetricsMe' })).toBe(0);
});

test('chat metrics: open streams, time to first token, stream duration by status, upstream errors by code', async () => {
  const model = 'claude-haiku-4-5';
  const before = await metrics();

  // An open stream is counted while it is open.
  env.anthropic.enqueue({ kind: 'hang' });
  const open = openChat(env.gw, tenant.member.token, { message: uniqueText('open') });
  await open.waitForStarted();
  expect((await metrics()).value('keyward_chat_streams_open')).toBe(before.value('keyward_chat_streams_open') + 1);
  open.unsubscribe();
  await open.dispose();
  await eventually(
    async () => (await metrics()).value('keyward_chat_streams_open') === before.value('keyward_chat_streams_open'),
    'the cancelled stream to close',
  );

  expect((await chat(env.gw, tenant.member.token, { message: uniqueText('done') })).completed).toBeDefined();
  expect(
    errorCode(await chat(env.gw, tenant.member.token, { message: uniqueText('refused'), keySource: 'TENANT' })),
  ).toBe('TENANT_KEY_MISSING');
  env.anthropic.enqueue({ kind: 'http-error', status: 500 });
  expect((await chat(env.gw, tenant.member.token, { message: uniqueText('500') })).failed?.code).toBe('UPSTREAM_ERROR');
  env.anthropic.enqueue({ kind: 'http-error', status: 401 });
  expect((await chat(env.gw, tenant.member.token, { message: uniqueText('401') })).failed?.code).toBe(
    'INVALID_PROVIDER_KEY',
  );

  const after = await metrics();
  const delta = (name: string, labels: Record<string, string> = {}) =>
    after.value(name, labels) - before.value(name, labels);
  // Only the completed chat produced a first token.
  expect(delta('keyward_chat_time_to_first_token_seconds_count', { model, key_source: 'PERSONAL' })).toBe(1);
  expect(delta('keyward_chat_time_to_first_token_seconds_sum', { model, key_source: 'PERSONAL' })).toBeGreaterThan(0);
  expect(delta('keyward_chat_time_to_first_token_seconds_bucket', { model, key_source: 'PERSONAL', le: '+Inf' })).toBe(
    1,
  );
  expect(delta('keyward_chat_stream_duration_seconds_count', { model, status: 'completed' })).toBe(1);
  expect(delta('keyward_chat_stream_duration_seconds_count', { model, status: 'cancelled' })).toBe(1);
  expect(delta('keyward_chat_stream_duration_seconds_count', { model, status: 'failed' })).toBe(2);
  expect(delta('keyward_upstream_errors_total', { provider: 'ANTHROPIC', code: 'UPSTREAM_ERROR' })).toBe(1);
  expect(delta('keyward_upstream_errors_total', { provider: 'ANTHROPIC', code: 'INVALID_PROVIDER_KEY' })).toBe(1);
  expect(delta('keyward_upstream_errors_total')).toBe(2);
  // The chat subscriptions themselves, on the WebSocket transport: a ChatFailed is not a GraphQL error.
  expect(delta('keyward_graphql_requests_total', { operation: 'Chat', transport: 'ws', outcome: 'success' })).toBe(4);
  expect(delta('keyward_graphql_requests_total', { operation: 'Chat', transport: 'ws', outcome: 'error' })).toBe(1);
  expect(delta('keyward_graphql_errors_total', { operation: 'Chat', code: 'TENANT_KEY_MISSING' })).toBe(1);
  expect(after.value('keyward_chat_streams_open')).toBe(before.value('keyward_chat_streams_open'));
});

test('keyring calls and data-key cache hits and misses', async () => {
  const before = await metrics();
  // A new tenant: one data key generated by the local keyring, cached with one use, and the audit
  // key of its new chain (its first event, datakey.create).
  const fresh = await createTenantWithAdmin(env.gw, 'metrics');
  const created = await metrics();
  expect(
    created.value('keyward_keyring_calls_total', { keyring: 'local', operation: 'generate', outcome: 'success' }) -
      before.value('keyward_keyring_calls_total', { keyring: 'local', operation: 'generate', outcome: 'success' }),
  ).toBe(2);

  // Storing a key spends that use (a hit); the chat's decryption then misses and unwraps again.
  await storeAnthropicKey(env.gw, fresh.adminToken, 'TENANT', anthropicKey());
  const stored = await metrics();
  expect(stored.value('keyward_datakey_cache_hits_total')).toBeGreaterThan(
    created.value('keyward_datakey_cache_hits_total'),
  );

  expect((await chat(env.gw, fresh.adminToken, { message: uniqueText('cache') })).completed).toBeDefined();
  const after = await metrics();
  expect(after.value('keyward_datakey_cache_misses_total')).toBeGreaterThan(
    stored.value('keyward_datakey_cache_misses_total'),
  );
  expect(after.value('keyward_datakey_cache_hits_total')).toBeGreaterThan(
    stored.value('keyward_datakey_cache_hits_total'),
  );
  expect(
    after.value('keyward_keyring_calls_total', { keyring: 'local', operation: 'unwrap', outcome: 'success' }),
  ).toBeGreaterThan(
    stored.value('keyward_keyring_calls_total', { keyring: 'local', operation: 'unwrap', outcome: 'success' }),
  );
  expect(after.value('keyward_datakey_cache_size')).toBeGreaterThanOrEqual(1);
});

test('keyward_db_pool_used counts a connection held by a request waiting on a row lock', async () => {
  const locked = await chatTenant(env.gw);
  // The earlier tests' chats keep a connection each for their admissions and ends until it has
  // been idle a while: sampled before that, one going back could hide the one this test takes.
  await new Promise((resolve) => setTimeout(resolve, HELD_CONNECTION_IDLE_MS + 250));
  const before = (await metrics()).value('keyward_db_pool_used');
  const holder = new Client({ connectionString: process.env.KEYWARD_TEST_DATABASE_URL });
  await holder.connect();
  let pending: Promise<unknown> | undefined;
  try {
    await holder.query('begin');
    await holder.query(`select id from tenants where id = ${sqlLiteral(locked.tenantId)} for update`);
    // Blocks on the lock (on PGlite every other connection waits for the transaction), holding a pooled connection.
    pending = gql(env.gw.url, UPDATE_POLICY, { input: { requestsPerMinute: 1000 } }, locked.adminToken);
    await eventually(
      async () => (await metrics()).value('keyward_db_pool_used') > before,
      'a pooled connection in use',
    );
  } finally {
    await holder.query('commit').catch(() => undefined);
    await holder.end();
  }
  const res = (await pending) as { errors?: unknown };
  expect(res.errors).toBeUndefined();
  await eventually(
    async () => (await metrics()).value('keyward_db_pool_used') === before,
    'the connection to be released',
  );
});
