import { randomUUID } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import { Client as PgClient } from 'pg';
import type { TestGateway } from './gateway';
import { gql, type GraphQLResponse } from './graphql-client';
import { bearer, wsClient } from './ws-client';

/** Helpers for the audit, usage and limits tests (test/audit). */

export type HttpResponse<T = Record<string, any>> = GraphQLResponse<T>;

/** A fresh request id a client may send as X-Request-Id (8-100 plain characters). */
export const newRequestId = (prefix = 'audit-test'): string => `${prefix}-${randomUUID()}`;

/** POSTs one operation (the response carries the x-request-id header too). */
export const post = <T = Record<string, any>>(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<HttpResponse<T>> => gql<T>(gw.url, query, variables, token, headers);

/** Like `post`, but the operation must succeed. */
export async function postOk<T = Record<string, any>>(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<HttpResponse<T> & { data: T }> {
  const res = await post<T>(gw, token, query, variables, headers);
  if (res.errors?.length || !res.data) throw new Error(`expected success, got HTTP ${res.status}: ${res.raw}`);
  return res as HttpResponse<T> & { data: T };
}

export const codeOf = (res: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> | null }): unknown =>
  res.errors?.[0]?.extensions?.code;

// ---------------------------------------------------------------------------------------------
// Audit queries

export interface AuditEventView {
  id: string;
  seq: number;
  at: string;
  tenantId: string | null;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: 'SUCCESS' | 'DENIED' | 'FAILURE';
  requestId: string | null;
  ip: string | null;
  detail: string | null;
  hash: string;
}

export interface AuditFilterArgs {
  action?: string;
  actorId?: string;
  targetId?: string;
  since?: string;
  until?: string;
  tenantId?: string;
}

const AUDIT_FIELDS = 'id seq at tenantId actorId action targetType targetId outcome requestId ip detail hash';

export const AUDIT_EVENTS = /* GraphQL */ `
  query ($filter: AuditFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      edges { cursor node { ${AUDIT_FIELDS} } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const VERIFY_AUDIT_LOG = /* GraphQL */ `{ verifyAuditLog { ok checked firstBrokenSeq } }`;
export const VERIFY_AUDIT_LOG_OF = /* GraphQL */ `
  query ($tenantId: ID) { verifyAuditLog(tenantId: $tenantId) { ok checked firstBrokenSeq } }
`;

export interface AuditPage {
  edges: Array<{ cursor: string; node: AuditEventView }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export function auditPage(
  gw: Pick<TestGateway, 'url'>,
  token: string,
  args: { filter?: AuditFilterArgs; first?: number; after?: string | null } = {},
): Promise<HttpResponse<{ auditEvents: AuditPage }>> {
  return post<{ auditEvents: AuditPage }>(gw, token, AUDIT_EVENTS, {
    filter: args.filter ?? null,
    ...(args.first === undefined ? {} : { first: args.first }),
    after: args.after ?? null,
  });
}

/** Every event the filter selects, newest first, walking all pages. */
export async function allAuditEvents(
  gw: Pick<TestGateway, 'url'>,
  token: string,
  filter: AuditFilterArgs = {},
  pageSize = 500,
): Promise<AuditEventView[]> {
  const events: AuditEventView[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const res = await auditPage(gw, token, { filter, first: pageSize, after });
    if (res.errors?.length || !res.data) throw new Error(`auditEvents failed: ${res.raw}`);
    const page = res.data.auditEvents;
    events.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return events;
    after = page.pageInfo.endCursor;
  }
  throw new Error('auditEvents never reached its last page');
}

export const parseDetail = (event: AuditEventView): Record<string, unknown> | null =>
  event.detail === null ? null : (JSON.parse(event.detail) as Record<string, unknown>);

// ---------------------------------------------------------------------------------------------
// Chat over graphql-ws

export const CHAT = /* GraphQL */ `
  subscription ($input: ChatInput!) {
    chat(input: $input) {
      __typename
      ... on ChatStarted { requestId conversationId model keySource }
      ... on ChatDelta { text }
      ... on ChatCompleted { stopReason usage { inputTokens outputTokens costUsd } }
      ... on ChatFailed { code message retryable }
    }
  }
`;

export interface ChatEventView {
  __typename: 'ChatStarted' | 'ChatDelta' | 'ChatCompleted' | 'ChatFailed';
  requestId?: string;
  conversationId?: string;
  model?: string;
  keySource?: string;
  text?: string;
  stopReason?: string | null;
  usage?: { inputTokens: number; outputTokens: number; costUsd: number };
  code?: string;
  message?: string;
  retryable?: boolean;
}

export interface ChatRun {
  /** Events received before the end (or before the error). */
  events: ChatEventView[];
  /** GraphQL errors (failures before ChatStarted). */
  errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>;
  started?: ChatEventView;
  completed?: ChatEventView;
  failed?: ChatEventView;
}

export interface ChatArgs {
  message: string;
  model?: string;
  keySource?: 'AUTO' | 'PERSONAL' | 'TENANT' | 'PLATFORM';
  maxTokens?: number;
  conversationId?: string;
  agentId?: string;
}

/** A real graphql-ws client authenticated with the bearer token (one socket, opened on first use). */
export const chatClient = (gw: Pick<TestGateway, 'wsUrl'>, token: string): WsClient => wsClient(gw.wsUrl, bearer(token));

/** Runs one chat subscription to its end and collects what the client received. */
export function runChat(client: WsClient, input: ChatArgs, timeoutMs = 20_000): Promise<ChatRun> {
  return new Promise((resolve, reject) => {
    const run: ChatRun = { events: [] };
    const timer = setTimeout(() => reject(new Error(`chat did not end within ${timeoutMs} ms: ${JSON.stringify(run)}`)), timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      run.started = run.events.find((event) => event.__typename === 'ChatStarted');
      run.completed = run.events.find((event) => event.__typename === 'ChatCompleted');
      run.failed = run.events.find((event) => event.__typename === 'ChatFailed');
      resolve(run);
    };
    client.subscribe<{ chat: ChatEventView }>(
      { query: CHAT, variables: { input } },
      {
        next: (value) => {
          if (value.errors?.length) run.errors = [...(run.errors ?? []), ...(value.errors as ChatRun['errors'] & object)];
          if (value.data?.chat) run.events.push(value.data.chat);
        },
        error: (error) => {
          if (Array.isArray(error)) {
            run.errors = [...(run.errors ?? []), ...error];
            finish();
          } else {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(`socket error: ${String((error as { reason?: string })?.reason ?? error)}`));
          }
        },
        complete: finish,
      },
    );
  });
}

/** A chat that must complete; returns its ChatStarted and ChatCompleted. */
export async function completedChat(client: WsClient, input: ChatArgs): Promise<Required<Pick<ChatRun, 'started' | 'completed'>> & ChatRun> {
  const run = await runChat(client, input);
  if (run.errors?.length || !run.started || !run.completed) {
    throw new Error(`expected a completed chat, got ${JSON.stringify(run)}`);
  }
  return run as Required<Pick<ChatRun, 'started' | 'completed'>> & ChatRun;
}

// ---------------------------------------------------------------------------------------------
// Direct database access (tampering, checks the API cannot express)

export const testDatabaseUrl = (): string => {
  const url = process.env.KEYWARD_TEST_DATABASE_URL;
  if (!url) throw new Error('KEYWARD_TEST_DATABASE_URL is not set: run the tests through jest');
  return url;
};

/** Runs `use` with a plain `pg` client on the run's database. */
export async function withPg<T>(use: (client: PgClient) => Promise<T>): Promise<T> {
  const client = new PgClient({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export const query = <R extends Record<string, any> = Record<string, any>>(text: string, params: unknown[] = []): Promise<R[]> =>
  withPg(async (client) => (await client.query<R>(text, params)).rows);

/** Whether any of `secrets` occurs in `text`. */
export const leaks = (text: string, secrets: Iterable<string>): string[] => [...secrets].filter((secret) => text.includes(secret));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Common operations

export const UPDATE_POLICY = /* GraphQL */ `
  mutation ($input: UpdateTenantPolicyInput!) {
    updateTenantPolicy(input: $input) { id policy { allowPlatformKey allowedModels defaultModel monthlyBudgetUsd requestsPerMinute } }
  }
`;

export const MODELS = /* GraphQL */ `{ models { id inputUsdPerMTok outputUsdPerMTok } }`;

export const USAGE = /* GraphQL */ `
  query ($filter: UsageFilter, $groupBy: [UsageDimension!]) {
    usage(filter: $filter, groupBy: $groupBy) { userId model keySource day requests inputTokens outputTokens costUsd }
  }
`;

export interface UsageBucketView {
  userId: string | null;
  model: string | null;
  keySource: string | null;
  day: string | null;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}
