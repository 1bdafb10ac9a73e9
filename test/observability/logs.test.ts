import { randomBytes } from 'node:crypto';
import {
  chat,
  chatTenant,
  keyTraces,
  openChat,
  startChatEnvironment,
  uniqueText,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { SET_CREDENTIAL } from '../support/documents';
import { anthropicKey, storeAnthropicKey } from '../support/fixtures';
import { sqlSimple } from '../support/sql';
import { bearer, wsClient, wsRequest } from '../support/ws-client';
import { errorCode } from '../support/graphql-client';

/**
 * docs/operations.md "Logs": one `graphql operation` line per operation, unexpected errors logged
 * under the request id the client received, and never a key in any line (captured from the
 * gateway's real pino logger at LOG_LEVEL=debug).
 */

let env: ChatEnvironment;
let tenant: ChatTenant;

beforeAll(async () => {
  env = await startChatEnvironment();
  tenant = await chatTenant(env.gw);
});

afterAll(async () => {
  await env?.stop();
});

interface Posted {
  status: number;
  body: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  raw: string;
  requestId: string | null;
}

/** POSTs an operation with our own X-Request-Id (or none) and returns the id the gateway answered with. */
async function post(
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
  requestId?: string,
): Promise<Posted> {
  const response = await fetch(env.gw.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(requestId ? { 'x-request-id': requestId } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await response.text();
  return { status: response.status, body: JSON.parse(raw), raw, requestId: response.headers.get('x-request-id') };
}

const logLines = () => env.gw.logs.parsed();

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
const operationLines = (requestId: string) =>
  logLines().filter((line) => line.msg === 'graphql operation' && line.requestId === requestId);

describe('a known key leaves no trace in the logs', () => {
  test('setCredential with validate: true, a failed setCredential with the key in a mistyped variable, chats, upstream failures', async () => {
    const key = anthropicKey();
    const received: string[] = [];
    const linesBefore = env.gw.logs.lines.length;

    // Stored after the provider accepted it (GET /v1/models with the key).
    const stored = await post(tenant.member.token, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: key, validate: true },
    });
    received.push(stored.raw);
    expect(stored.body.errors).toBeUndefined();
    expect(env.anthropic.requests.some((request) => request.path === '/v1/models' && request.apiKey === key)).toBe(
      true,
    );

    // The key in variables of the wrong type: graphql-js would echo the value in its message.
    for (const input of [
      { provider: key, scope: 'PERSONAL', apiKey: key },
      { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: [key] },
      { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: key, validate: key },
      { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: { nested: key } },
    ]) {
      const refused = await post(tenant.member.token, SET_CREDENTIAL, { input });
      received.push(refused.raw);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    // And on the WebSocket transport.
    const socket = wsClient(env.gw.wsUrl, bearer(tenant.member.token));
    try {
      const overWs = await wsRequest(socket, SET_CREDENTIAL, {
        input: { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: key, validate: key },
      });
      received.push(JSON.stringify(overWs));
      expect(overWs.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await socket.dispose();
    }

    // A key the provider refuses is not stored, and not logged either.
    const refusedKey = anthropicKey();
    env.anthropic.rejectKey(refusedKey, 401);
    const invalid = await post(tenant.member.token, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: refusedKey, validate: true },
    });
    received.push(invalid.raw);
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('INVALID_PROVIDER_KEY');

    // Chats with the key: completed, retried after a 429, rejected by the provider, cut mid-stream.
    env.anthropic.enqueue(
      { kind: 'stream' },
      { kind: 'http-error', status: 429, retryAfterMs: 10 },
      { kind: 'stream' },
      { kind: 'http-error', status: 401 },
      { kind: 'error-event-mid-stream', afterTokens: 1 },
    );
    for (let i = 0; i < 4; i++) {
      const run = await chat(env.gw, tenant.member.token, { message: uniqueText('log'), keySource: 'PERSONAL' });
      received.push(...run.raw);
      expect(run.started).toBeDefined();
    }
    expect(
      env.anthropic.requests.filter((request) => request.path === '/v1/messages' && request.apiKey === key),
    ).toHaveLength(5);

    const written = env.gw.logs.lines.slice(linesBefore);
    // What was written: a line per operation (HTTP: 1 stored, 4 refused, 1 invalid; WebSocket: 1
    // refused, 4 chats) and the retry warning.
    const parsed = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    const operations = parsed.filter((line) => line.msg === 'graphql operation');
    expect(operations.filter((line) => line.transport === 'http')).toHaveLength(6);
    expect(operations.filter((line) => line.transport === 'ws')).toHaveLength(5);
    expect(parsed.map((line) => line.msg)).toContain('upstream busy: retrying');
    // Each failed chat: one warning with its code and the provider's status.
    const failures = parsed.filter((line) => line.msg === 'upstream failed');
    expect(failures.map(({ code, status, afterFirstToken }) => ({ code, status, afterFirstToken }))).toEqual([
      { code: 'INVALID_PROVIDER_KEY', status: 401, afterFirstToken: false },
      { code: 'UPSTREAM_ERROR', status: undefined, afterFirstToken: true },
    ]);
    for (const secret of [key, refusedKey]) {
      for (const trace of keyTraces(secret)) {
        const leaking = written.filter((line) => line.includes(trace));
        expect(leaking).toEqual([]);
        expect(received.filter((body) => body.includes(trace))).toEqual([]);
      }
    }
    // Nothing shaped like an Anthropic key at all.
    expect(written.filter((line) => /sk-ant-/.test(line))).toEqual([]);
  });
});

describe('graphql operation lines', () => {
  test('one line per HTTP request, with request id, operation, tenant, user, duration and outcome', async () => {
    const requests = [
      {
        token: tenant.member.token,
        query: 'query LogMe { me { id } }',
        operation: 'LogMe',
        outcome: 'success',
        who: tenant.member.userId,
      },
      {
        token: tenant.adminToken,
        query: 'query LogUsers { users { id } }',
        operation: 'LogUsers',
        outcome: 'success',
        who: tenant.adminId,
      },
      {
        token: tenant.member.token,
        query: 'query LogForbidden { users { id } }',
        operation: 'LogForbidden',
        outcome: 'error',
        who: tenant.member.userId,
        codes: ['FORBIDDEN'],
      },
      {
        token: tenant.member.token,
        query: '{ tenant { id } }',
        operation: 'anonymous',
        outcome: 'success',
        who: tenant.member.userId,
      },
      {
        token: undefined,
        query: 'query LogAnonymous { me { id } }',
        operation: 'LogAnonymous',
        outcome: 'error',
        who: null,
        codes: ['UNAUTHENTICATED'],
      },
    ];
    for (const request of requests) {
      const clientRequestId = `test-${randomBytes(8).toString('hex')}`;
      const res = await post(request.token, request.query, undefined, clientRequestId);
      // The gateway's own id, with the client's beside it in the line.
      const requestId = res.requestId!;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      const lines = operationLines(requestId);
      expect(lines).toHaveLength(1);
      const [line] = lines;
      expect(line).toMatchObject({
        requestId,
        clientRequestId,
        transport: 'http',
        operation: request.operation,
        operationType: 'query',
        tenantId: request.who ? tenant.tenantId : null,
        userId: request.who,
        outcome: request.outcome,
      });
      expect(typeof line.durationMs).toBe('number');
      expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
      if (request.codes) expect(line.errorCodes).toEqual(request.codes);
      else expect(line).not.toHaveProperty('errorCodes');
    }
  });

  test('one line per WebSocket operation: chats completed, refused, unsubscribed, or cut off with the socket', async () => {
    await storeAnthropicKey(env.gw, tenant.adminToken, 'TENANT', anthropicKey());
    const completed = await chat(env.gw, tenant.adminToken, { message: uniqueText('ws-log') });
    const refusedBefore = logLines().filter(
      (line) => line.msg === 'graphql operation' && line.userId === tenant.adminId,
    ).length;
    const refused = await chat(env.gw, tenant.adminToken, { message: uniqueText('ws-log'), keySource: 'PERSONAL' });
    expect(errorCode(refused)).toBe('PERSONAL_KEY_MISSING');

    env.anthropic.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const unsubscribed = openChat(env.gw, tenant.adminToken, { message: uniqueText('ws-log') });
    const cut = openChat(env.gw, tenant.adminToken, { message: uniqueText('ws-log') });
    await Promise.all([unsubscribed.waitForStarted(), cut.waitForStarted()]);
    unsubscribed.unsubscribe();
    cut.socket!.terminate();
    await Promise.all([unsubscribed.dispose(), cut.dispose()]);

    const expected = {
      transport: 'ws',
      operation: 'Chat',
      operationType: 'subscription',
      tenantId: tenant.tenantId,
      userId: tenant.adminId,
    };
    for (const run of [completed, unsubscribed.run, cut.run]) {
      const requestId = run.started!.requestId;
      await waitFor(() => operationLines(requestId).length > 0, `the line of ${requestId}`);
      expect(operationLines(requestId)).toEqual([
        expect.objectContaining({ ...expected, requestId, outcome: 'success' }),
      ]);
      expect(operationLines(requestId)[0].durationMs as number).toBeGreaterThanOrEqual(0);
    }
    const refusals = logLines()
      .filter((line) => line.msg === 'graphql operation' && line.userId === tenant.adminId)
      .slice(refusedBefore)
      .filter((line) => line.outcome === 'error');
    expect(refusals).toEqual([expect.objectContaining({ ...expected, errorCodes: ['PERSONAL_KEY_MISSING'] })]);
  });

  test('a request without X-Request-Id gets a generated one, used in its line', async () => {
    const res = await post(
      tenant.member.token,
      'mutation LogPreferred { setPreferredModel(model: "claude-haiku-4-5") { id } }',
    );
    expect(res.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(operationLines(res.requestId!)).toEqual([
      expect.objectContaining({
        operation: 'LogPreferred',
        operationType: 'mutation',
        outcome: 'success',
        userId: tenant.member.userId,
      }),
    ]);
  });
});

describe('unexpected errors', () => {
  test('a resolver throwing a non-Keyward error gives INTERNAL_SERVER_ERROR with a request id found in the logs', async () => {
    // A broken row: a NULL inside allowed_models makes updateTenantPolicy's model check throw a TypeError.
    const broken = await chatTenant(env.gw);
    await sqlSimple('update tenants set allowed_models = array[null]::text[] where id = $1', [broken.tenantId]);

    const res = await post(
      broken.adminToken,
      'mutation LogBroken { updateTenantPolicy(input: { requestsPerMinute: 100 }) { id } }',
    );
    expect(res.body.errors).toHaveLength(1);
    const [error] = res.body.errors!;
    expect(error.message).toBe('Internal server error');
    expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: res.requestId });
    expect(res.raw).not.toMatch(/TypeError|slice|stack/);

    const logged = logLines().filter((line) => line.requestId === res.requestId && line.msg === 'unexpected error');
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged[0].err)).toMatch(/TypeError/);
    expect(operationLines(res.requestId!)).toEqual([
      expect.objectContaining({
        operation: 'LogBroken',
        outcome: 'error',
        errorCodes: ['INTERNAL_SERVER_ERROR'],
        tenantId: broken.tenantId,
      }),
    ]);

    // Over the WebSocket the same broken row (a null in a [String!] list) is masked the same way.
    const socket = wsClient(env.gw.wsUrl, bearer(broken.adminToken));
    try {
      const overWs = await wsRequest(socket, '{ tenant { policy { allowedModels } } }');
      const wsError = overWs.errors?.[0];
      expect(wsError?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      const requestId = wsError?.extensions?.requestId as string;
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(logLines().filter((line) => line.requestId === requestId && line.msg === 'unexpected error')).toHaveLength(
        1,
      );
    } finally {
      await socket.dispose();
    }
  });
});
