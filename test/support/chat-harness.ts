import { randomBytes } from 'node:crypto';
import type { Client, ClientOptions } from 'graphql-ws';
import type WebSocket from 'ws';
import { startAnthropicServer, type AnthropicServer, type RecordedRequest } from './anthropic-server';
import { startOpenAiServer, type OpenAiRecordedRequest, type OpenAiServer } from './openai-server';
import {
  CHAT,
  type ChatCompletedEvent,
  type ChatDeltaEvent,
  type ChatEvent,
  type ChatFailedEvent,
  type ChatInputArgs,
  type ChatStartedEvent,
  type ChatToolCallEvent,
  type RoleName,
  type TenantPolicyArgs,
} from './documents';
import { seed, type TenantFixture, type UserFixture } from './fixtures';
import { errorCode } from './graphql-client';
import { startSharedGateway, type TestGateway } from './gateway';
import shippedCatalog from '../../src/catalog/models.json';
import { sqlSimple } from './sql';
import { bearer, wsClient } from './ws-client';

/**
 * Chat over a real graphql-ws client against a gateway whose Anthropic clients talk to the local
 * Anthropic API server, plus the fixtures and SQL reads the chat tests share.
 */

/** A message no other chat of the run sends, so its upstream request can be found by its text. */
export const uniqueText = (prefix = 'hello'): string => `${prefix} ${randomBytes(6).toString('hex')}`;

export interface GraphQLErrorView {
  message: string;
  extensions?: Record<string, unknown>;
}

/** Everything one chat subscription delivered. */
export class ChatRun {
  readonly events: ChatEvent[] = [];
  /** GraphQL errors (refusals before any event). */
  errors: readonly GraphQLErrorView[] | undefined;
  /** Everything received, serialized, for leak checks. */
  readonly raw: string[] = [];

  get started(): ChatStartedEvent | undefined {
    return this.events.find((event): event is ChatStartedEvent => event.__typename === 'ChatStarted');
  }

  get deltas(): string[] {
    return this.events
      .filter((event): event is ChatDeltaEvent => event.__typename === 'ChatDelta')
      .map((event) => event.text);
  }

  get text(): string {
    return this.deltas.join('');
  }

  get completed(): ChatCompletedEvent | undefined {
    return this.events.find((event): event is ChatCompletedEvent => event.__typename === 'ChatCompleted');
  }

  get failed(): ChatFailedEvent | undefined {
    return this.events.find((event): event is ChatFailedEvent => event.__typename === 'ChatFailed');
  }

  get toolCalls(): ChatToolCallEvent[] {
    return this.events.filter((event): event is ChatToolCallEvent => event.__typename === 'ChatToolCall');
  }

  get typenames(): string[] {
    return this.events.map((event) => event.__typename);
  }

  /** Called by the transports with each `next` payload. */
  accept(result: { data?: unknown; errors?: readonly GraphQLErrorView[] }): void {
    this.raw.push(JSON.stringify(result));
    if (result.errors?.length) this.errors = result.errors;
    const event = (result.data as { chat?: ChatEvent } | null | undefined)?.chat;
    if (event) this.events.push(event);
  }
}

/**
 * One chat on its own socket (or on `client` when given), read to the end with `client.iterate`.
 */
export async function chat(
  gw: Pick<TestGateway, 'wsUrl'>,
  token: string,
  input: ChatInputArgs,
  client?: Client,
): Promise<ChatRun> {
  const own = client ?? wsClient(gw.wsUrl, bearer(token));
  const run = new ChatRun();
  try {
    for await (const result of own.iterate({ query: CHAT, variables: { input } })) run.accept(result as never);
  } catch (error) {
    // Errors that stop an operation before execution arrive as an array of GraphQL errors.
    if (!Array.isArray(error)) throw error;
    run.accept({ errors: error as GraphQLErrorView[] });
  } finally {
    if (!client) await own.dispose();
  }
  return run;
}

/** Runs one chat on a shared client to its end (rejects after `timeoutMs`). */
export function runChat(client: Client, input: ChatInputArgs, timeoutMs = 20_000): Promise<ChatRun> {
  return new Promise((resolve, reject) => {
    const run = new ChatRun();
    const timer = setTimeout(
      () => reject(new Error(`chat did not end within ${timeoutMs} ms: ${run.raw.join(' ')}`)),
      timeoutMs,
    );
    const finish = () => {
      clearTimeout(timer);
      resolve(run);
    };
    client.subscribe(
      { query: CHAT, variables: { input } },
      {
        next: (result) => run.accept(result as never),
        error: (error) => {
          if (Array.isArray(error)) {
            run.accept({ errors: error as GraphQLErrorView[] });
            return finish();
          }
          clearTimeout(timer);
          reject(
            error instanceof Error
              ? error
              : new Error(`socket error: ${String((error as { reason?: string })?.reason ?? error)}`),
          );
        },
        complete: finish,
      },
    );
  });
}

export type CompletedChatRun = ChatRun & { readonly started: ChatStartedEvent; readonly completed: ChatCompletedEvent };

/** A chat on a shared client that must complete. */
export async function completedChat(client: Client, input: ChatInputArgs): Promise<CompletedChatRun> {
  const run = await runChat(client, input);
  if (run.errors?.length || !run.started || !run.completed)
    throw new Error(`expected a completed chat, got ${run.raw.join(' ')}`);
  return run as CompletedChatRun;
}

/** A real graphql-ws client authenticated with the bearer token (one socket, opened on first use). */
export const chatClient = (gw: Pick<TestGateway, 'wsUrl'>, token: string): Client => wsClient(gw.wsUrl, bearer(token));

/** A chat that must be refused before any event; returns the error code. */
export async function refusedChat(
  gw: Pick<TestGateway, 'wsUrl'>,
  token: string,
  input: ChatInputArgs,
): Promise<unknown> {
  const run = await chat(gw, token, input);
  if (run.events.length) throw new Error(`expected a refusal, got events ${JSON.stringify(run.events)}`);
  if (!run.errors?.length) throw new Error('expected a refusal, got neither events nor errors');
  return errorCode(run);
}

/**
 * An open chat driven by the test: wait for events, then unsubscribe or cut the socket.
 * `socket` is the underlying `ws` WebSocket once connected.
 */
export class OpenChat {
  readonly run = new ChatRun();
  readonly client: Client;
  /** Resolves when the subscription ends (complete, error, or socket closed). */
  readonly done: Promise<ChatRun>;
  socket: WebSocket | undefined;
  private readonly waiters = new Set<() => void>();
  private ended = false;
  private unsubscribeFn: () => void = () => undefined;

  constructor(
    gw: Pick<TestGateway, 'wsUrl'>,
    token: string,
    input: ChatInputArgs,
    options: Partial<ClientOptions> = {},
  ) {
    this.client = wsClient(gw.wsUrl, bearer(token), {
      ...options,
      on: {
        ...options.on,
        connected: (socket) => {
          this.socket = socket as WebSocket;
        },
      },
    });
    this.done = new Promise<ChatRun>((resolve) => {
      const finish = () => {
        this.ended = true;
        this.notify();
        resolve(this.run);
      };
      this.unsubscribeFn = this.client.subscribe(
        { query: CHAT, variables: { input } },
        {
          next: (result) => {
            this.run.accept(result as never);
            this.notify();
          },
          error: (error) => {
            if (Array.isArray(error)) this.run.accept({ errors: error as GraphQLErrorView[] });
            finish();
          },
          complete: finish,
        },
      );
    });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Resolves once `predicate` holds for what was received; rejects if the chat ends first or after `timeoutMs`. */
  waitFor(predicate: (run: ChatRun) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.run)) return settle(resolve);
        if (this.ended)
          settle(() =>
            reject(
              new Error(
                `chat ended before ${what}: ${JSON.stringify(this.run.events)} ${JSON.stringify(this.run.errors)}`,
              ),
            ),
          );
      };
      const timer = setTimeout(() => settle(() => reject(new Error(`timed out waiting for ${what}`))), timeoutMs);
      const settle = (action: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        action();
      };
      this.waiters.add(check);
      check();
    });
  }

  waitForStarted(timeoutMs?: number): Promise<void> {
    return this.waitFor((run) => run.started !== undefined, 'ChatStarted', timeoutMs);
  }

  waitForToolCalls(count: number, timeoutMs?: number): Promise<void> {
    return this.waitFor((run) => run.toolCalls.length >= count, `${count} tool calls`, timeoutMs);
  }

  waitForDeltas(count: number, timeoutMs?: number): Promise<void> {
    return this.waitFor((run) => run.deltas.length >= count, `${count} deltas`, timeoutMs);
  }

  /** The function graphql-ws's `subscribe` returned: sends `complete` for this operation. */
  unsubscribe(): void {
    this.unsubscribeFn();
  }

  async dispose(): Promise<void> {
    await this.client.dispose();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export const openChat = (
  gw: Pick<TestGateway, 'wsUrl'>,
  token: string,
  input: ChatInputArgs,
  options?: Partial<ClientOptions>,
): OpenChat => new OpenChat(gw, token, input, options);

// ---------------------------------------------------------------------------------------------
// Gateway and fixtures

export interface ChatEnvironment {
  anthropic: AnthropicServer;
  /** The local OpenAI API (OPENAI_BASE_URL) and OpenRouter API (OPENROUTER_BASE_URL). */
  openai: OpenAiServer;
  openrouter: OpenAiServer;
  gw: TestGateway;
  stop(): Promise<void>;
}

export { startSharedGateway as startGatewayRetrying } from './gateway';

/**
 * Local Anthropic, OpenAI and OpenRouter API servers and a gateway pointed at them (`env` adds to
 * or overrides the defaults).
 */
export async function startChatEnvironment(env: Record<string, string | undefined> = {}): Promise<ChatEnvironment> {
  const anthropic = await startAnthropicServer();
  const openai = await startOpenAiServer('openai');
  const openrouter = await startOpenAiServer('openrouter');
  const closeUpstreams = async () => {
    await Promise.all([anthropic.close(), openai.close(), openrouter.close()]);
  };
  try {
    // A short drain, so that stopping a gateway with a stream still open (a failed test) is quick.
    const gw = await startSharedGateway({
      env: {
        ANTHROPIC_BASE_URL: anthropic.baseURL,
        OPENAI_BASE_URL: openai.baseURL,
        OPENROUTER_BASE_URL: openrouter.baseURL,
        KEYWARD_DRAIN_SECONDS: '1',
        ...env,
      },
    });
    return {
      anthropic,
      openai,
      openrouter,
      gw,
      stop: async () => {
        await gw.stop();
        await closeUpstreams();
      },
    };
  } catch (error) {
    await closeUpstreams();
    throw error;
  }
}

export interface ChatTenant extends TenantFixture {
  member: UserFixture;
}

/** A tenant with one member of `role` (MEMBER by default) and the given policy. */
export async function chatTenant(
  gw: TestGateway,
  policy: TenantPolicyArgs = {},
  role: RoleName = 'MEMBER',
): Promise<ChatTenant> {
  const tenant = await seed(gw).tenant({ prefix: 'chat', policy });
  return { ...tenant, member: await tenant.member(role) };
}

// ---------------------------------------------------------------------------------------------
// Upstream requests and database rows

/** The upstream /v1/messages requests whose last user message is `text`. */
export const upstreamFor = (anthropic: AnthropicServer, text: string): RecordedRequest[] =>
  anthropic.requests.filter((request) => {
    const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
    const last = messages[messages.length - 1];
    return request.path === '/v1/messages' && last?.role === 'user' && last.content === text;
  });

/** The upstream /chat/completions requests (OpenAI or OpenRouter) whose last message is the user's `text`. */
export const openAiUpstreamFor = (server: OpenAiServer, text: string): OpenAiRecordedRequest[] =>
  server.requests.filter((request) => {
    const messages = (request.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
    const last = messages[messages.length - 1];
    return request.path.endsWith('/chat/completions') && last?.role === 'user' && last.content === text;
  });

export interface UsageRow {
  tenant_id: string;
  user_id: string;
  credential_id: string | null;
  key_source: string;
  model: string;
  request_id: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  ttft_ms: number | null;
  total_ms: number;
  status: string;
  error_code: string | null;
}

export const usageRows = (requestId: string): Promise<UsageRow[]> =>
  sqlSimple<UsageRow & Record<string, unknown>>(
    `select tenant_id, user_id, credential_id, key_source, model, request_id, input_tokens, output_tokens, cost_usd,
            ttft_ms, total_ms, status, error_code
       from usage_records where request_id = $1`,
    [requestId],
  );

/** The one usage row of a request (its chat has ended, so it was written before the last event). */
export async function usageRow(requestId: string): Promise<UsageRow> {
  const rows = await usageRows(requestId);
  if (rows.length !== 1) throw new Error(`expected one usage row for ${requestId}, found ${rows.length}`);
  return rows[0];
}

/**
 * Waits until the usage row of `requestId` exists: after an unsubscribe or a closed socket the
 * client gets no final event, so the row is written some moments after the client stopped.
 */
export async function eventualUsageRow(requestId: string, timeoutMs = 10_000): Promise<UsageRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await usageRows(requestId);
    if (rows.length > 1) throw new Error(`expected one usage row for ${requestId}, found ${rows.length}`);
    if (rows.length === 1) return rows[0];
    if (Date.now() > deadline) throw new Error(`no usage row for ${requestId} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface MessageRow {
  role: string;
  content: string;
  model: string | null;
  key_source: string | null;
  status: string;
}

export const messageRows = (conversationId: string): Promise<MessageRow[]> =>
  sqlSimple<MessageRow & Record<string, unknown>>(
    'select role, content, model, key_source, status from messages where conversation_id = $1 order by created_at, id',
    [conversationId],
  );

/** Catalog prices of src/catalog/models.json, for cost checks. */
export function catalogPrice(model: string): { input: number; output: number } {
  const entry = shippedCatalog.models.find((candidate) => candidate.id === model);
  if (!entry) throw new Error(`${model} is not in src/catalog/models.json`);
  return { input: entry.inputUsdPerMTok, output: entry.outputUsdPerMTok };
}

export const expectedCost = (model: string, inputTokens: number, outputTokens: number): number => {
  const price = catalogPrice(model);
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
};

/** Every form a key could take in a log line: raw, its random part, base64, base64url, hex. */
export function keyTraces(key: string): string[] {
  const random = key.replace(/^sk-ant-api03-/, '');
  const traces = [
    key,
    random,
    Buffer.from(key).toString('base64'),
    Buffer.from(key).toString('base64url'),
    Buffer.from(key).toString('hex'),
    Buffer.from(random, 'base64url').toString('base64'),
    Buffer.from(random, 'base64url').toString('hex'),
  ];
  // A base64 rendering of the key shifted by one or two bytes shares no prefix with the above;
  // strip its first and last 4 characters so any alignment still matches.
  for (const offset of [0, 1, 2]) {
    traces.push(
      Buffer.from(`${'x'.repeat(offset)}${key}`)
        .toString('base64')
        .slice(offset ? 4 : 0, -4),
    );
  }
  return traces;
}
