/**
 * Bench fixtures created through the GraphQL API (tenants, users, tenant keys), and one chat
 * over graphql-ws or straight to the upstream with the provider's SDK (@anthropic-ai/sdk for the
 * Anthropic Messages API, openai for OpenAI Chat Completions), timed the same way.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import Anthropic from '@anthropic-ai/sdk';
import { createClient, type Client } from 'graphql-ws';
import OpenAI from 'openai';
import WebSocket from 'ws';

/** The upstream API a bench chats with: the Anthropic Messages API or OpenAI Chat Completions. */
export type BenchFormat = 'anthropic' | 'openai';

/** The model of each format's chats, through the gateway and direct. */
export const BENCH_MODELS: Record<BenchFormat, string> = { anthropic: 'claude-haiku-4-5', openai: 'gpt-5-mini' };
export const BENCH_MESSAGE = 'Hello from the Keyward streaming bench';
export const BENCH_MAX_TOKENS = 1024;

export const CHAT_SUBSCRIPTION = `subscription BenchChat($input: ChatInput!) {
  chat(input: $input) {
    __typename
    ... on ChatStarted { requestId conversationId model keySource }
    ... on ChatDelta { text }
    ... on ChatCompleted { stopReason usage { inputTokens outputTokens costUsd } }
    ... on ChatFailed { code message retryable }
  }
}`;

/** `count` word tokens (" w0", " w1", ...), the reply the local upstream streams. */
export const replyTokens = (count: number) => Array.from({ length: count }, (_, i) => ` word${i}`);

export async function graphql<T>(
  url: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export interface BenchUser {
  tenantIndex: number;
  /** The tenant admin (the first user of each tenant) or a MEMBER. */
  admin: boolean;
  token: string;
  /** The key AUTO resolves to for this user: the tenant's shared Anthropic key, or the platform key. */
  apiKey: string;
}

/**
 * Which key serves the bench users' chats: a TENANT-scope Anthropic key per tenant, or the
 * platform key the gateway was started with (`apiKey`; tenants allow it by default).
 */
export type BenchKeys = { source: 'TENANT' } | { source: 'PLATFORM'; apiKey: string };

/**
 * `tenants` tenants, each with `usersPerTenant` users (the tenant admin and MEMBERs), each with
 * an API token; with `{ source: 'TENANT' }` each tenant also gets an Anthropic key (stored
 * without a live check).
 */
export async function createBenchUsers(
  url: string,
  platformToken: string,
  tenants: number,
  usersPerTenant: number,
  keys: BenchKeys = { source: 'TENANT' },
): Promise<BenchUser[]> {
  const users: BenchUser[] = [];
  const run = randomBytes(3).toString('hex');
  for (let t = 0; t < tenants; t++) {
    const { createTenant } = await graphql<{ createTenant: { token: string } }>(
      url,
      platformToken,
      'mutation ($input: CreateTenantInput!) { createTenant(input: $input) { token } }',
      { input: { name: `bench-${run}-${t}`, adminEmail: `admin-${t}@bench-${run}.test` } },
    );
    const apiKey =
      keys.source === 'PLATFORM' ? keys.apiKey : `sk-ant-api03-bench${t}-${randomBytes(40).toString('base64url')}`;
    if (keys.source === 'TENANT') {
      await graphql(
        url,
        createTenant.token,
        'mutation ($input: SetCredentialInput!) { setCredential(input: $input) { id } }',
        {
          input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey, validate: false },
        },
      );
    }
    users.push({ tenantIndex: t, admin: true, token: createTenant.token, apiKey });
    for (let u = 1; u < usersPerTenant; u++) {
      const { createUser } = await graphql<{ createUser: { id: string } }>(
        url,
        createTenant.token,
        'mutation ($input: CreateUserInput!) { createUser(input: $input) { id } }',
        { input: { email: `member-${t}-${u}@bench-${run}.test`, role: 'MEMBER' } },
      );
      const { issueApiToken } = await graphql<{ issueApiToken: { token: string } }>(
        url,
        createTenant.token,
        'mutation ($input: IssueApiTokenInput!) { issueApiToken(input: $input) { token } }',
        { input: { name: 'bench', userId: createUser.id } },
      );
      users.push({ tenantIndex: t, admin: false, token: issueApiToken.token, apiKey });
    }
  }
  return users;
}

/** Usage rows recorded for all bench tenants (each tenant admin sees its tenant's total). */
export async function usageTotals(
  url: string,
  users: BenchUser[],
): Promise<{ requests: number; outputTokens: number }> {
  let requests = 0;
  let outputTokens = 0;
  for (const user of users.filter((u) => u.admin)) {
    const { usage } = await graphql<{ usage: Array<{ requests: number; outputTokens: number }> }>(
      url,
      user.token,
      '{ usage { requests outputTokens } }',
    );
    for (const bucket of usage) {
      requests += bucket.requests;
      outputTokens += bucket.outputTokens;
    }
  }
  return { requests, outputTokens };
}

/** A connected graphql-ws client (one WebSocket), authenticated as `token`. */
export async function connectWs(wsUrl: string, token: string): Promise<Client> {
  let connected!: () => void;
  let failed!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    connected = resolve;
    failed = reject;
  });
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
    on: {
      connected: () => connected(),
      closed: (event) => failed(new Error(`socket closed: ${JSON.stringify(event)}`)),
    },
    onNonLazyError: (error) => failed(error),
  });
  await ready;
  return client;
}

export interface ChatTiming {
  ok: boolean;
  /** ChatFailed code, GraphQL error code, 'SOCKET', 'TIMEOUT' or 'NO_COMPLETION'. */
  error?: string;
  /** Subscribe (or request) call to ChatStarted; gateway only. */
  startedMs?: number;
  /** Subscribe (or request) call to the first text delta. */
  ttftMs?: number;
  /** Subscribe (or request) call to ChatCompleted (direct: message_stop, or an OpenAI stream's end after its usage chunk). */
  totalMs?: number;
  /** Subscribe (or request) call to the last text delta. */
  lastDeltaMs?: number;
  deltas: number;
}

export interface ChatHandle {
  done: Promise<ChatTiming>;
  /** Unsubscribes (the gateway then aborts the upstream request). */
  cancel(): void;
  /** Resolves true at ChatStarted, or false if the chat ended without one. */
  started: Promise<boolean>;
}

/** One chat subscription over an open graphql-ws client. */
export function gatewayChat(client: Client, input: Record<string, unknown>, timeoutMs: number): ChatHandle {
  const start = performance.now();
  const timing: ChatTiming = { ok: false, deltas: 0 };
  let finish!: (timing: ChatTiming) => void;
  let markStarted!: (started: boolean) => void;
  const started = new Promise<boolean>((resolve) => (markStarted = resolve));
  const done = new Promise<ChatTiming>((resolve) => {
    let settled = false;
    finish = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      markStarted(false);
      resolve(value);
    };
    const timer = setTimeout(() => {
      timing.error ??= 'TIMEOUT';
      unsubscribe();
      finish(timing);
    }, timeoutMs);
  });
  const unsubscribe = client.subscribe<{ chat: { __typename: string; code?: string } }>(
    { query: CHAT_SUBSCRIPTION, variables: { input } },
    {
      next: (result) => {
        const now = performance.now();
        if (result.errors?.length) {
          timing.error ??= String(result.errors[0].extensions?.code ?? result.errors[0].message);
          return;
        }
        const event = result.data?.chat;
        switch (event?.__typename) {
          case 'ChatStarted':
            timing.startedMs = now - start;
            markStarted(true);
            break;
          case 'ChatDelta':
            timing.ttftMs ??= now - start;
            timing.lastDeltaMs = now - start;
            timing.deltas++;
            break;
          case 'ChatCompleted':
            timing.totalMs = now - start;
            timing.ok = timing.error === undefined;
            break;
          case 'ChatFailed':
            timing.error ??= event.code ?? 'ChatFailed';
            break;
          case undefined:
            break;
        }
      },
      error: (error) => {
        timing.ok = false;
        timing.error ??= Array.isArray(error) ? String(error[0]?.extensions?.code ?? error[0]?.message) : 'SOCKET';
        finish(timing);
      },
      complete: () => {
        if (!timing.ok) timing.error ??= 'NO_COMPLETION';
        finish(timing);
      },
    },
  );
  return { done, started, cancel: () => unsubscribe() };
}

/** An SDK client straight to the upstream, with no retries. */
export type DirectClient = { format: 'anthropic'; sdk: Anthropic } | { format: 'openai'; sdk: OpenAI };

export const directClient = (format: BenchFormat, baseURL: string, apiKey: string): DirectClient =>
  format === 'anthropic'
    ? { format, sdk: new Anthropic({ apiKey, baseURL, maxRetries: 0 }) }
    : { format, sdk: new OpenAI({ apiKey, baseURL, maxRetries: 0 }) };

/** The same request the gateway sends upstream for `BENCH_MESSAGE`, streamed straight to the upstream. */
export async function directChat(client: DirectClient, timeoutMs: number): Promise<ChatTiming> {
  const timing: ChatTiming = { ok: false, deltas: 0 };
  const start = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const delta = () => {
    timing.ttftMs ??= performance.now() - start;
    timing.lastDeltaMs = performance.now() - start;
    timing.deltas++;
  };
  try {
    if (client.format === 'anthropic') {
      const stream = await client.sdk.messages.create(
        {
          model: BENCH_MODELS.anthropic,
          max_tokens: BENCH_MAX_TOKENS,
          messages: [{ role: 'user', content: BENCH_MESSAGE }],
          stream: true,
        },
        { signal: controller.signal },
      );
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') delta();
        else if (event.type === 'message_stop') {
          timing.totalMs = performance.now() - start;
          timing.ok = true;
        }
      }
    } else {
      // The gateway's body (src/providers/openai/openai-stream.ts), and its rule: done once the usage chunk came.
      const stream = await client.sdk.chat.completions.create(
        {
          model: BENCH_MODELS.openai,
          messages: [{ role: 'user', content: BENCH_MESSAGE }],
          max_completion_tokens: BENCH_MAX_TOKENS,
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: controller.signal },
      );
      let usage = false;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) delta();
        if (chunk.usage) usage = true;
      }
      if (usage) {
        timing.totalMs = performance.now() - start;
        timing.ok = true;
      }
    }
    if (!timing.ok) timing.error = 'NO_COMPLETION';
  } catch (error) {
    timing.ok = false;
    timing.error = controller.signal.aborted ? 'TIMEOUT' : error instanceof Error ? error.constructor.name : 'ERROR';
  } finally {
    clearTimeout(timer);
  }
  return timing;
}

/** The chat input sent through the gateway: the same model, message and max_tokens as `directChat`. */
export const chatInput = (format: BenchFormat = 'anthropic') => ({
  message: BENCH_MESSAGE,
  model: BENCH_MODELS[format],
  maxTokens: BENCH_MAX_TOKENS,
});

/** What marks a text delta and the end of a reply in each format's raw stream. */
const LEAN_MARKERS: Record<BenchFormat, { delta: RegExp; end: string; path: string }> = {
  anthropic: { delta: /"text_delta"/g, end: 'message_stop', path: '/v1/messages' },
  openai: { delta: /"content":"[^"]/g, end: '[DONE]', path: '/chat/completions' },
};

/**
 * The leanest direct client: node:http on a keep-alive agent, the same request the SDK sends, and
 * the raw body scanned for delta markers (as peerbench's load client does), without an SDK or an
 * SSE parser. It is the baseline: an SDK client in the bench process costs more than the gateway's
 * own relaying and hid part of it (issue 15).
 */
export interface LeanDirectClient {
  format: BenchFormat;
  url: URL;
  agent: http.Agent;
  headers: Record<string, string>;
  body: string;
}

export function leanDirectClient(format: BenchFormat, baseURL: string, apiKey: string): LeanDirectClient {
  const base = baseURL.endsWith('/') ? baseURL.slice(0, -1) : baseURL;
  const body =
    format === 'anthropic'
      ? {
          model: BENCH_MODELS.anthropic,
          max_tokens: BENCH_MAX_TOKENS,
          messages: [{ role: 'user', content: BENCH_MESSAGE }],
          stream: true,
        }
      : {
          model: BENCH_MODELS.openai,
          messages: [{ role: 'user', content: BENCH_MESSAGE }],
          max_completion_tokens: BENCH_MAX_TOKENS,
          stream: true,
          stream_options: { include_usage: true },
        };
  return {
    format,
    url: new URL(`${base}${LEAN_MARKERS[format].path}`),
    agent: new http.Agent({ keepAlive: true }),
    headers: {
      'content-type': 'application/json',
      ...(format === 'anthropic'
        ? { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01' }
        : { authorization: `Bearer ${apiKey}` }),
    },
    body: JSON.stringify(body),
  };
}

export function leanDirectChat(client: LeanDirectClient, timeoutMs: number, resend = true): Promise<ChatTiming> {
  const markers = LEAN_MARKERS[client.format];
  return new Promise((resolve) => {
    const timing: ChatTiming = { ok: false, deltas: 0 };
    const start = performance.now();
    // Markers may be split across reads: each read is scanned with the end of the one before,
    // counting only matches that end in the new read.
    let tail = '';
    const finish = (error?: string) => {
      clearTimeout(timer);
      if (error) timing.error = error;
      resolve(timing);
    };
    const request = http.request(client.url, { method: 'POST', agent: client.agent, headers: client.headers });
    const timer = setTimeout(() => request.destroy(new Error('TIMEOUT')), timeoutMs);
    request.once('error', (error) => {
      // A keep-alive socket the upstream closed while it sat idle (between rounds, past the
      // server's keep-alive timeout) fails before any answer: sent again once on a new socket, as
      // Node's documentation advises (request.reusedSocket) and as the gateway's own fetch does.
      if (resend && request.reusedSocket && !timing.ttftMs) {
        clearTimeout(timer);
        void leanDirectChat(client, timeoutMs, false).then(resolve);
        return;
      }
      finish(error.message);
    });
    request.once('response', (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        return finish(`HTTP_${response.statusCode}`);
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        const now = performance.now() - start;
        const scanned = tail + chunk;
        let found = 0;
        for (const match of scanned.matchAll(markers.delta)) if (match.index + match[0].length > tail.length) found++;
        if (found > 0) {
          timing.ttftMs ??= now;
          timing.lastDeltaMs = now;
          timing.deltas += found;
        }
        tail = scanned.slice(-32);
      });
      response.once('end', () => {
        timing.totalMs = performance.now() - start;
        timing.ok = tail.includes(markers.end);
        finish(timing.ok ? undefined : 'NO_END_MARKER');
      });
      response.once('error', (error) => finish(error.message));
    });
    request.end(client.body);
  });
}
