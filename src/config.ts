import { resolve } from 'node:path';
import * as v from 'valibot';
import { parseTrustProxy, type TrustProxySetting } from './common/client-address';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A string the given URL test accepts (a value that does not parse as a URL fails too). */
const urlWhere = (accepts: (parsed: URL) => boolean, message: string) =>
  v.pipe(
    v.string(),
    v.check((value) => {
      try {
        return accepts(new URL(value));
      } catch {
        return false;
      }
    }, message),
  );

const postgresUrl = urlWhere(
  (url) => (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '',
  'must be a postgres:// or postgresql:// URL with a host',
);

const httpUrl = urlWhere((url) => ['http:', 'https:'].includes(url.protocol), 'must be an http:// or https:// URL');

const redisUrl = urlWhere(
  (url) => (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '',
  'must be a redis:// or rediss:// URL with a host',
);

const isBase64Key32 = (value: string) =>
  /^[A-Za-z0-9+/]+={0,2}$/.test(value) && Buffer.from(value, 'base64').length === 32;

const base64Key32 = v.pipe(v.string(), v.check(isBase64Key32, 'must be base64 of exactly 32 bytes'));

/** A whole number read from its text (as Number() reads it), at least `min`. Defaults are given as text and read the same way. */
const wholeNumber = (min: number, belowMin: string) =>
  v.pipe(
    v.string(),
    v.transform(Number),
    v.number('must be a number'),
    v.integer('must be a whole number'),
    v.minValue(min, belowMin),
  );

const positiveInt = (fallback: number) => v.optional(wholeNumber(1, 'must be positive'), String(fallback));

const nonNegativeInt = (fallback: number) => v.optional(wholeNumber(0, 'must not be negative'), String(fallback));

const booleanFlag = v.pipe(
  v.picklist(['true', 'false'], 'must be true or false'),
  v.transform((value) => value === 'true'),
);

/** A string matching `pattern`. */
const matching = (pattern: RegExp, message: string) => v.pipe(v.string(), v.regex(pattern, message));

const nonEmpty = v.pipe(v.string(), v.minLength(1, 'must not be empty'));

/** Comma-separated http(s) origins, normalized to scheme://host[:port] as browsers send them. */
const originList = v.pipe(
  v.string(),
  v.check(
    (value) =>
      value.split(',').every((item) => {
        try {
          const url = new URL(item.trim());
          return ['http:', 'https:'].includes(url.protocol) && url.origin !== 'null';
        } catch {
          return false;
        }
      }),
    'must be a comma-separated list of http:// or https:// origins',
  ),
  v.transform((value) => [...new Set(value.split(',').map((item) => new URL(item.trim()).origin))]),
);

/** Express's `trust proxy` syntax: true, false, a hop count, or addresses/CIDRs/loopback,linklocal,uniquelocal. */
const trustProxy = v.pipe(
  v.string(),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      return parseTrustProxy(dataset.value);
    } catch {
      addIssue({
        message:
          'must be true, false, a number of hops, or a comma-separated list of IP addresses, CIDR ranges, loopback, linklocal or uniquelocal',
      });
      return NEVER;
    }
  }),
);

const EnvSchema = v.object({
  NODE_ENV: v.optional(v.string(), 'development'),
  PORT: v.optional(v.pipe(wholeNumber(0, 'must not be negative'), v.maxValue(65535, 'must be at most 65535')), '4000'),
  HOST: v.optional(nonEmpty, '127.0.0.1'),
  DATABASE_URL: v.optional(postgresUrl),
  KEYWARD_DATA_DIR: v.optional(nonEmpty, './.keyward'),
  KEYWARD_MASTER_KEY: v.optional(base64Key32),
  KEYWARD_PREVIOUS_MASTER_KEYS: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (value) => value.split(',').every((key) => isBase64Key32(key.trim())),
        'must be a comma-separated list of base64 32-byte keys',
      ),
    ),
  ),
  KEYWARD_KMS_KEY_ID: v.optional(nonEmpty),
  AWS_ENDPOINT_URL_KMS: v.optional(httpUrl),
  ANTHROPIC_API_KEY: v.optional(nonEmpty),
  ANTHROPIC_BASE_URL: v.optional(httpUrl),
  OPENAI_API_KEY: v.optional(nonEmpty),
  OPENAI_BASE_URL: v.optional(httpUrl),
  OPENROUTER_API_KEY: v.optional(nonEmpty),
  OPENROUTER_BASE_URL: v.optional(httpUrl),
  OPENROUTER_APP_URL: v.optional(httpUrl),
  GITHUB_API_URL: v.optional(httpUrl, 'https://api.github.com'),
  LINEAR_API_URL: v.optional(httpUrl, 'https://api.linear.app'),
  KEYWARD_BOOTSTRAP_TOKEN: v.optional(
    matching(/^kw_[A-Za-z0-9_-]{20,200}$/, 'must look like kw_ followed by at least 20 URL-safe characters'),
  ),
  KEYWARD_MODELS_FILE: v.optional(nonEmpty),
  LOG_LEVEL: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`), 'info'),
  KEYWARD_DATA_KEY_MAX_AGE_SECONDS: positiveInt(300),
  KEYWARD_DATA_KEY_MAX_USES: positiveInt(100_000),
  KEYWARD_CACHE_TTL_SECONDS: nonNegativeInt(60),
  KEYWARD_SHUTDOWN_GRACE_SECONDS: positiveInt(10),
  KEYWARD_DRAIN_SECONDS: positiveInt(30),
  KEYWARD_MAX_STREAMS_PER_USER: positiveInt(10),
  KEYWARD_MAX_STREAMS_PER_TENANT: positiveInt(500),
  KEYWARD_STREAM_LEASE_SECONDS: positiveInt(30),
  KEYWARD_REDIS_URL: v.optional(redisUrl),
  KEYWARD_REDIS_KEY_PREFIX: v.optional(
    matching(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1-64 letters, digits or : _ . -'),
    'keyward:',
  ),
  KEYWARD_METRICS_TOKEN: v.optional(v.pipe(v.string(), v.minLength(16, 'must be at least 16 characters'))),
  // Query limits (GraphQL Armor's defaults, except cost: see src/server/query-limits.ts).
  KEYWARD_MAX_DEPTH: positiveInt(6),
  KEYWARD_MAX_ALIASES: positiveInt(15),
  KEYWARD_MAX_DIRECTIVES: positiveInt(50),
  KEYWARD_MAX_TOKENS: positiveInt(1000),
  KEYWARD_MAX_COST: positiveInt(50_000),
  KEYWARD_INTROSPECTION: v.optional(booleanFlag),
  KEYWARD_MAX_BODY_BYTES: positiveInt(1024 * 1024),
  KEYWARD_WS_MAX_PAYLOAD_BYTES: positiveInt(1024 * 1024),
  KEYWARD_WS_INIT_TIMEOUT_MS: positiveInt(10_000),
  KEYWARD_WS_KEEPALIVE_MS: positiveInt(12_000),
  KEYWARD_ALLOWED_ORIGINS: v.optional(originList),
  // Untrusted clients: proxies, unauthenticated WebSockets.
  KEYWARD_TRUST_PROXY: v.optional(trustProxy),
  KEYWARD_WS_MAX_UNAUTHENTICATED_PER_IP: positiveInt(128),
  KEYWARD_WS_MAX_UNAUTHENTICATED_TOTAL: positiveInt(2048),
  KEYWARD_WS_UNAUTHENTICATED_TIMEOUT_MS: positiveInt(30_000),
  // Tools (agents and chat requests): see src/modules/agent/tool-definitions.ts and src/chat/tool-loop.ts.
  KEYWARD_MAX_TOOLS: positiveInt(64),
  KEYWARD_MAX_TOOL_DEFINITION_BYTES: positiveInt(16 * 1024),
  KEYWARD_MAX_TOOL_OUTPUT_BYTES: positiveInt(256 * 1024),
  KEYWARD_TOOL_RESULT_TIMEOUT_SECONDS: positiveInt(120),
});

export interface Config {
  production: boolean;
  port: number;
  host: string;
  /** Unset: the embedded PostgreSQL (PGlite) in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  masterKey?: string;
  /** Former local master keys, kept only so rewrapDataKeys can move keys off them. */
  previousMasterKeys: string[];
  kmsKeyId?: string;
  kmsEndpoint?: string;
  platformAnthropicKey?: string;
  anthropicBaseUrl?: string;
  platformOpenAiKey?: string;
  /** With the version, as the openai SDK takes it (`https://api.openai.com/v1`). */
  openAiBaseUrl?: string;
  platformOpenRouterKey?: string;
  /** With the version (`https://openrouter.ai/api/v1`). */
  openRouterBaseUrl?: string;
  /** Sent to OpenRouter as `HTTP-Referer` (its app attribution). */
  openRouterAppUrl?: string;
  /** GitHub's REST API root (GitHub Enterprise Server: https://HOST/api/v3), for key checks. */
  githubApiUrl: string;
  /** Linear's API root; its GraphQL endpoint is /graphql under it. For key checks. */
  linearApiUrl: string;
  bootstrapToken?: string;
  modelsFile?: string;
  logLevel: (typeof LOG_LEVELS)[number];
  dataKeyCache: { maxAgeMs: number; maxUses: number };
  /**
   * How long a principal, a tenant's policy or a caller's credential rows may be served from
   * memory without a change being announced (changes are announced at once: in-process, and
   * through LISTEN/NOTIFY with a server). 0: no caching.
   */
  cacheTtlMs: number;
  shutdownGraceMs: number;
  /** How long open chat streams may run on after SIGTERM before they are ended. */
  drainMs: number;
  streamLimits: { perUser: number; perTenant: number };
  /**
   * How long a replica's stream leases and budget reservations outlive it: renewed every third of
   * this while it runs, swept by every replica once expired (a replica killed with -9).
   */
  streamLeaseMs: number;
  /**
   * Unset: stream leases, client request ids and per-minute rate limits live in PostgreSQL. Set:
   * in Redis, every key under `keyPrefix` (several deployments may share one Redis).
   */
  redis?: { url: string; keyPrefix: string };
  metricsToken?: string;
  /** Limits every GraphQL operation must pass, on HTTP and on WebSocket alike. */
  queryLimits: QueryLimitsConfig;
  /** Whether __schema / __type are answered, on both transports. */
  introspection: boolean;
  /** Largest JSON body accepted on /graphql over HTTP. */
  maxBodyBytes: number;
  webSocket: {
    /** Largest message accepted; a bigger one closes the socket with 1009. */
    maxPayloadBytes: number;
    /** A socket that sends no connection_init within this time is closed with 4408. */
    initTimeoutMs: number;
    /** Ping interval; a socket that does not answer within one interval is terminated. */
    keepAliveMs: number;
    /** Origins allowed to open a socket; undefined: any (non-browser clients send none). */
    allowedOrigins?: string[];
    /** Sockets not (yet) authenticated with a valid token, per client address and in all. */
    maxUnauthenticatedPerIp: number;
    maxUnauthenticatedTotal: number;
    /** A socket without a valid token is closed (4401) this long after it opened. */
    unauthenticatedTimeoutMs: number;
  };
  /** Proxies whose X-Forwarded-For is believed (HTTP and WebSocket); false: none. */
  trustProxy: TrustProxySetting;
  tools: ToolLimits;
}

export interface ToolLimits {
  /** Most tools an agent, or a request (its own plus its agent's), may define. */
  maxTools: number;
  /** Largest definition (name, description and input schema as JSON, UTF-8 bytes). */
  maxDefinitionBytes: number;
  /** Largest output of one tool call in submitToolResults (UTF-8 bytes). */
  maxOutputBytes: number;
  /** How long a chat waits for the results of its open tool calls before it fails. */
  resultTimeoutMs: number;
}

export interface QueryLimitsConfig {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment once. Values are never echoed back, since some are secrets. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = v.safeParse(EnvSchema, present, { message: 'is not valid' });
  if (!parsed.success)
    throw new ConfigError(parsed.issues.map((issue) => `${v.getDotPath(issue) ?? 'the environment'} ${issue.message}`));
  const e = parsed.output;
  const production = e.NODE_ENV === 'production';
  if (production && !e.KEYWARD_MASTER_KEY && !e.KEYWARD_KMS_KEY_ID) {
    throw new ConfigError([
      'KEYWARD_MASTER_KEY or KEYWARD_KMS_KEY_ID is required when NODE_ENV=production (a generated development key is refused)',
    ]);
  }
  return {
    production,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: resolve(e.KEYWARD_DATA_DIR),
    masterKey: e.KEYWARD_MASTER_KEY,
    previousMasterKeys: e.KEYWARD_PREVIOUS_MASTER_KEYS?.split(',').map((key) => key.trim()) ?? [],
    kmsKeyId: e.KEYWARD_KMS_KEY_ID,
    kmsEndpoint: e.AWS_ENDPOINT_URL_KMS,
    platformAnthropicKey: e.ANTHROPIC_API_KEY,
    anthropicBaseUrl: e.ANTHROPIC_BASE_URL,
    platformOpenAiKey: e.OPENAI_API_KEY,
    openAiBaseUrl: e.OPENAI_BASE_URL,
    platformOpenRouterKey: e.OPENROUTER_API_KEY,
    openRouterBaseUrl: e.OPENROUTER_BASE_URL,
    openRouterAppUrl: e.OPENROUTER_APP_URL,
    githubApiUrl: e.GITHUB_API_URL,
    linearApiUrl: e.LINEAR_API_URL,
    bootstrapToken: e.KEYWARD_BOOTSTRAP_TOKEN,
    modelsFile: e.KEYWARD_MODELS_FILE,
    logLevel: e.LOG_LEVEL,
    dataKeyCache: { maxAgeMs: e.KEYWARD_DATA_KEY_MAX_AGE_SECONDS * 1000, maxUses: e.KEYWARD_DATA_KEY_MAX_USES },
    cacheTtlMs: e.KEYWARD_CACHE_TTL_SECONDS * 1000,
    shutdownGraceMs: e.KEYWARD_SHUTDOWN_GRACE_SECONDS * 1000,
    drainMs: e.KEYWARD_DRAIN_SECONDS * 1000,
    streamLimits: { perUser: e.KEYWARD_MAX_STREAMS_PER_USER, perTenant: e.KEYWARD_MAX_STREAMS_PER_TENANT },
    streamLeaseMs: e.KEYWARD_STREAM_LEASE_SECONDS * 1000,
    redis: e.KEYWARD_REDIS_URL ? { url: e.KEYWARD_REDIS_URL, keyPrefix: e.KEYWARD_REDIS_KEY_PREFIX } : undefined,
    metricsToken: e.KEYWARD_METRICS_TOKEN,
    queryLimits: {
      maxDepth: e.KEYWARD_MAX_DEPTH,
      maxAliases: e.KEYWARD_MAX_ALIASES,
      maxDirectives: e.KEYWARD_MAX_DIRECTIVES,
      maxTokens: e.KEYWARD_MAX_TOKENS,
      maxCost: e.KEYWARD_MAX_COST,
    },
    introspection: e.KEYWARD_INTROSPECTION ?? !production,
    maxBodyBytes: e.KEYWARD_MAX_BODY_BYTES,
    webSocket: {
      maxPayloadBytes: e.KEYWARD_WS_MAX_PAYLOAD_BYTES,
      initTimeoutMs: e.KEYWARD_WS_INIT_TIMEOUT_MS,
      keepAliveMs: e.KEYWARD_WS_KEEPALIVE_MS,
      allowedOrigins: e.KEYWARD_ALLOWED_ORIGINS,
      maxUnauthenticatedPerIp: e.KEYWARD_WS_MAX_UNAUTHENTICATED_PER_IP,
      maxUnauthenticatedTotal: e.KEYWARD_WS_MAX_UNAUTHENTICATED_TOTAL,
      unauthenticatedTimeoutMs: e.KEYWARD_WS_UNAUTHENTICATED_TIMEOUT_MS,
    },
    trustProxy: e.KEYWARD_TRUST_PROXY ?? false,
    tools: {
      maxTools: e.KEYWARD_MAX_TOOLS,
      maxDefinitionBytes: e.KEYWARD_MAX_TOOL_DEFINITION_BYTES,
      maxOutputBytes: e.KEYWARD_MAX_TOOL_OUTPUT_BYTES,
      resultTimeoutMs: e.KEYWARD_TOOL_RESULT_TIMEOUT_SECONDS * 1000,
    },
  };
}

/** Every environment variable the gateway reads through this file (deploy manifests are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.entries);
