/**
 * Every code a client can receive, in one table: GraphQL `extensions.code`s and `ChatFailed.code`s.
 * The types below, the retry set, the error masking's public codes and the tables in docs/api.md
 * (`npm run docs:codes`) all derive from it: a new code is one entry here.
 */

/**
 * Where a client meets a code:
 * - `request`: a GraphQL error for a request that never reached a resolver (set by GraphQL itself);
 * - `resolver`: a GraphQL error from a resolver (for `chat`: before any event);
 * - `stream`: the `ChatFailed` event that ends a chat stream.
 */
export type CodeSurface = 'request' | 'resolver' | 'stream';

export interface CodeInfo {
  /** One line for the client: what happened. */
  readonly meaning: string;
  readonly arises: readonly CodeSurface[];
  /** Whether the same request, sent again later, may succeed. */
  readonly retryable: boolean;
  /** The gateway already retried it (before the first token, never after). */
  readonly autoRetried?: true;
}

export const CODES = {
  UNAUTHENTICATED: {
    meaning: 'no valid bearer token: missing, unknown, expired or revoked',
    arises: ['resolver'],
    retryable: false,
  },
  FORBIDDEN: {
    meaning: "the caller's role or ownership does not allow this operation",
    arises: ['resolver'],
    retryable: false,
  },
  NOT_FOUND: {
    meaning: 'the object does not exist or the caller may not see it',
    arises: ['resolver'],
    retryable: false,
  },
  BAD_USER_INPUT: {
    meaning: 'an argument or variable is invalid; `extensions.field` names the input field when one is at fault',
    arises: ['resolver'],
    retryable: false,
  },
  PERSONAL_KEY_MISSING: {
    meaning: '`keySource: PERSONAL`, and the caller has no personal key',
    arises: ['resolver'],
    retryable: false,
  },
  TENANT_KEY_MISSING: {
    meaning: '`keySource: TENANT`, and the tenant has no shared key',
    arises: ['resolver'],
    retryable: false,
  },
  NO_CREDENTIAL: {
    meaning: 'no key is available to the caller (or the operator configured no platform key)',
    arises: ['resolver'],
    retryable: false,
  },
  PLATFORM_KEY_DISABLED: {
    meaning: 'the operator or the tenant switched the platform key off',
    arises: ['resolver'],
    retryable: false,
  },
  UNKNOWN_MODEL: { meaning: 'the model is not in the catalog', arises: ['resolver'], retryable: false },
  MODEL_NOT_ALLOWED: {
    meaning: "the model is outside the tenant's `allowedModels`",
    arises: ['resolver'],
    retryable: false,
  },
  MODEL_RETIRED: {
    meaning: 'the model is past its end of life (`Model.endOfLife`): the provider no longer serves it',
    arises: ['resolver'],
    retryable: false,
  },
  INVALID_PROVIDER_KEY: {
    meaning: 'the provider rejected the key (401/403)',
    arises: ['resolver', 'stream'],
    retryable: false,
  },
  RATE_LIMITED: {
    meaning: "the user reached the tenant's `requestsPerMinute`; retry after `extensions.retryAfterSeconds`",
    arises: ['resolver'],
    retryable: true,
  },
  BUDGET_EXCEEDED: {
    meaning:
      "the request could exceed the tenant's monthly budget (in a stream: the provider's input count leaves no room for the output allowance)",
    arises: ['resolver', 'stream'],
    retryable: false,
  },
  TOOL_STEPS_EXCEEDED: {
    meaning: "the model kept calling tools beyond the tenant's `maxSteps` model calls for one chat",
    arises: ['stream'],
    retryable: false,
  },
  TOOL_RESULT_TIMEOUT: {
    meaning: 'no result for an open tool call arrived within `KEYWARD_TOOL_RESULT_TIMEOUT_SECONDS`',
    arises: ['stream'],
    retryable: true,
  },
  PLATFORM_BUDGET_EXCEEDED: {
    meaning: "the request could exceed the operator's monthly cap on the tenant's platform-key spend",
    arises: ['resolver'],
    retryable: false,
  },
  KEY_UNAVAILABLE: {
    meaning: 'the key cannot be decrypted right now (key management unreachable or refusing); no other key is used',
    arises: ['resolver'],
    retryable: true,
  },
  UPSTREAM_ERROR: {
    meaning: 'the provider failed: a 5xx, an `error` event mid-stream, a truncated stream, or no answer to a key check',
    arises: ['resolver', 'stream'],
    retryable: true,
  },
  INTERNAL_SERVER_ERROR: {
    meaning: 'an unexpected failure, logged under `extensions.requestId`',
    arises: ['resolver'],
    retryable: true,
  },
  UPSTREAM_RATE_LIMITED: {
    meaning: 'the provider rate-limited the request (429)',
    arises: ['stream'],
    retryable: true,
    autoRetried: true,
  },
  UPSTREAM_OVERLOADED: {
    meaning: 'the provider is overloaded (529 / `overloaded_error`)',
    arises: ['stream'],
    retryable: true,
    autoRetried: true,
  },
  UPSTREAM_BAD_REQUEST: {
    meaning: 'the provider refused the request as invalid (400/404/413)',
    arises: ['stream'],
    retryable: false,
  },
  UPSTREAM_UNREACHABLE: {
    meaning: 'a network failure before the answer started',
    arises: ['stream'],
    retryable: true,
  },
  SHUTTING_DOWN: { meaning: 'the gateway drained and ended the stream', arises: ['stream'], retryable: true },
  TENANT_DELETED: {
    meaning: "the caller's tenant was deleted while the stream ran",
    arises: ['stream'],
    retryable: false,
  },
  CREDENTIAL_DELETED: { meaning: 'the credential the stream used was deleted', arises: ['stream'], retryable: false },
  TOKEN_REVOKED: { meaning: 'the token that opened the stream was revoked', arises: ['stream'], retryable: false },
  GRAPHQL_PARSE_FAILED: {
    meaning: 'the document does not parse, or has more tokens than allowed',
    arises: ['request'],
    retryable: false,
  },
  GRAPHQL_VALIDATION_FAILED: {
    meaning: 'the document does not validate, or exceeds a query limit (depth, aliases, directives, cost)',
    arises: ['request'],
    retryable: false,
  },
  OPERATION_RESOLUTION_FAILURE: {
    meaning: 'no operation to run (`operationName` missing or unknown)',
    arises: ['request'],
    retryable: false,
  },
  PERSISTED_QUERY_NOT_SUPPORTED: { meaning: 'persisted queries are not served', arises: ['request'], retryable: false },
  PERSISTED_QUERY_NOT_FOUND: {
    meaning: 'a persisted-query hash the server does not know',
    arises: ['request'],
    retryable: false,
  },
  BAD_REQUEST: {
    meaning: 'a malformed or oversized body, a batch, or a subscription over HTTP',
    arises: ['request'],
    retryable: false,
  },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

type CodesArising<S extends CodeSurface> = {
  [K in Code]: S extends (typeof CODES)[K]['arises'][number] ? K : never;
}[Code];

/** A GraphQL `extensions.code`: set by a resolver or by GraphQL itself. */
export type ErrorCode = CodesArising<'resolver' | 'request'>;
/** A `ChatFailed.code`. */
export type ChatFailedCode = CodesArising<'stream'>;

const ALL_CODES = Object.keys(CODES) as Code[];

export const codesArising = (surface: CodeSurface): Code[] =>
  ALL_CODES.filter((code) => (CODES[code].arises as readonly CodeSurface[]).includes(surface));

const enumOf = <C extends Code>(codes: readonly C[]) =>
  Object.freeze(Object.fromEntries(codes.map((code) => [code, code]))) as { readonly [K in C]: K };

/** Codes as constants (`ErrorCode.FORBIDDEN`), as Apollo Server's ApolloServerErrorCode. */
export const ErrorCode = enumOf([...codesArising('resolver'), ...codesArising('request')] as ErrorCode[]);
export const ChatFailedCode = enumOf(codesArising('stream') as ChatFailedCode[]);

/** What a client should assume of a failure it was given this code for. */
export const isRetryable = (code: Code): boolean => CODES[code].retryable;

/** The codes the gateway retries itself before the first token. */
export const AUTO_RETRIED_CODES: ReadonlySet<ChatFailedCode> = new Set(
  (codesArising('stream') as ChatFailedCode[]).filter((code) => (CODES[code] as CodeInfo).autoRetried),
);
