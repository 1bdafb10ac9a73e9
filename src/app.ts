import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ContainerType } from 'type-graphql';
import { RoleAuthChecker } from './auth/auth-checker';
import { Authenticator, type TokenFacts } from './auth/authenticator';
import { CacheInvalidation } from './cache/cache-invalidation';
import { PgInvalidationChannel } from './cache/pg-invalidation-channel';
import { TenantScopedCache } from './cache/tenant-scoped-cache';
import { CallerProfiles, type CallerProfile } from './chat/caller-profiles';
import { bootstrapPlatformAdmin, type BootstrapResult } from './auth/bootstrap';
import { ModelCatalog } from './catalog/model-catalog';
import type { Config } from './config';
import type { GatewayModule } from './common/gateway-module';
import { compileTrustProxy } from './common/client-address';
import type { Logger } from './common/logger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded-postgres';
import { migrateInChildProcess } from './db/migrate';
import { openOrm } from './db/orm';
import { ENTITIES, MODULES, RESOLVERS } from './modules';
import { ModelSelectionRules } from './catalog/model-selection-rules';
import { TenantService } from './modules/tenant/tenant.service';
import { ApiTokenService } from './modules/token/api-token.service';
import { UserService } from './modules/user/user.service';
import { createApollo } from './server/apollo';
import { ContextFactory } from './server/context-factory';
import { healthRoutes } from './server/health';
import { consoleRoutes, defaultConsoleDir } from './server/console-route';
import { createHttpApp } from './server/http';
import { buildQueryLimits } from './server/query-limits';
import { buildGatewaySchema } from './server/schema';
import { attachWebSocket } from './server/websocket';
import { AuditKeyService } from './vault/audit-key.service';
import { DataKeyCache } from './vault/data-key-cache';
import { DataKeyService } from './vault/data-key.service';
import { CredentialVault } from './vault/credential-vault';
import { KeyManagementService } from './modules/data-key/key-management.service';
import { CredentialService } from './modules/credential/credential.service';
import { KeySelector, type CallerKeys } from './modules/credential/key-selector';
import { PlatformKeys } from './modules/credential/platform-keys';
import { Provider } from './modules/credential/provider';
import { createKeyChecks } from './providers/key-checks';
import { AnthropicClients } from './providers/anthropic/anthropic-clients';
import { AnthropicChat } from './providers/anthropic/anthropic-chat';
import { OpenAiClients } from './providers/openai/openai-clients';
import {
  DEFAULT_OPENAI_BASE_URL,
  DEFAULT_OPENROUTER_BASE_URL,
  OpenAiChat,
  openRouterHeaders,
} from './providers/openai/openai-chat';
import { createNodeHttpFetch } from './providers/node-http-fetch';
import { ChatProviders } from './chat/chat-providers';
import { ChatPlanner } from './chat/chat-planner';
import { ChatRunner } from './chat/chat-runner';
import { deletedTenantUsage } from './chat/deleted-tenant-usage';
import { ChatRecorder } from './chat/chat-recorder';
import { ChatService } from './chat/chat.service';
import { AgentService } from './modules/agent/agent.service';
import { PendingToolCalls } from './chat/pending-tool-calls';
import { ToolResults } from './chat/tool-results';
import { ToolLoop, type ReservationResize } from './chat/tool-loop';
import { ConversationService } from './modules/conversation/conversation.service';
import { ModelService } from './modules/model/model.service';
import { AuditLog } from './audit/audit-log';
import { AuditService } from './audit/audit.service';
import { UsageService } from './modules/usage/usage.service';
import { postgresRateLimits, redisRateLimits, UserRateLimiter } from './limits/user-rate-limiter';
import { RedisStreamLeases } from './limits/redis-stream-leases';
import { connectRedis, type Redis } from './db/redis';
import { BudgetGuard } from './limits/budget-guard';
import { PlatformSpendGuard } from './limits/platform-spend-guard';
import { PgStreamLeases, type StreamLeases } from './limits/stream-leases';
import { ReplicaLeaseKeeper } from './limits/replica-lease-keeper';
import { ChatAdmission } from './chat/chat-admission';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Metrics } from './observability/metrics';
import { MeteredKeyring } from './observability/metered-keyring';
import { chatMetricsObserver, observeCacheChannel, observeComponents } from './observability/component-metrics';
import { operationLogPlugin } from './server/operation-log.plugin';
import { recordOperation } from './observability/operation-log';
import { metricsRoute } from './observability/metrics-route';
import { StreamRegistry } from './chat/stream-registry';
import { StreamStopWatch } from './chat/stream-stop-watch';
import { DEFAULT_RETRY_POLICY } from './chat/upstream-retry';
import { createKeyrings } from './vault/keyring/create-keyrings';
import type { Keyrings } from './vault/keyring/keyrings';
import { HeldConnection } from './db/held-connection';

export interface GatewayOptions {
  config: Config;
  log: Logger;
  /** Supplied by tests and tools that build keyrings themselves; default: from config. */
  keyrings?: Keyrings;
  /**
   * Called once the platform admin is ensured and before the port is bound, so that a generated
   * token can be shown even when binding fails.
   */
  onBootstrap?: (result: BootstrapResult) => void;
}

/** Services shared by every request, built once per process. */
export interface Services {
  /** This process among the replicas on the database: it owns the stream leases and reservations it takes. */
  replicaId: string;
  /** KEYWARD_REDIS_URL's connection (stream leases, rate limits); null: all in PostgreSQL. */
  redis: Redis | null;
  streamLeases: StreamLeases;
  caches: CacheInvalidation;
  authenticator: Authenticator;
  catalog: ModelCatalog;
  dataKeys: DataKeyService;
  tenants: TenantService;
  users: UserService;
  tokens: ApiTokenService;
  vault: CredentialVault;
  keys: KeySelector;
  credentials: CredentialService;
  keyManagement: KeyManagementService;
  agents: AgentService;
  conversations: ConversationService;
  models: ModelService;
  chat: ChatService;
  toolResults: ToolResults;
  metrics: Metrics;
  audit: AuditLog;
  auditQueries: AuditService;
  usage: UsageService;
  /** The chat ends' and admissions' connections, kept between their statements; given back before the pool closes (it waits for them). */
  heldConnections: HeldConnection[];
}

export async function createServices(
  em: EntityManager,
  keyrings: Keyrings,
  config: Config,
  log: Logger,
  metrics: Metrics = new Metrics(),
  replicaId: string = randomUUID(),
): Promise<Services> {
  const meteredKeyrings = keyrings.decorate((keyring) => new MeteredKeyring(keyring, metrics));
  const auditKeys = new AuditKeyService(meteredKeyrings, new DataKeyCache(config.dataKeyCache), log);
  const audit = new AuditLog(em, log, auditKeys);
  const caches = new CacheInvalidation(log);
  const cacheOptions = { maxEntries: 10_000, ttlMs: config.cacheTtlMs };
  const catalog = ModelCatalog.load(config.modelsFile);
  const modelRules = new ModelSelectionRules(catalog);
  const dataKeys = new DataKeyService(meteredKeyrings, new DataKeyCache(config.dataKeyCache), log, auditKeys);
  caches.onInvalidate((change) => {
    if (!change) dataKeys.forgetAllCached();
    else if (change.dataKeys) dataKeys.forgetCached(change.tenantId);
  });
  const users = new UserService(modelRules, audit, caches);
  const tokens = new ApiTokenService(users, audit, caches);
  const tenants = new TenantService(dataKeys, tokens, modelRules, audit, caches);
  const vault = new CredentialVault(dataKeys, log);
  const platformKeys = new PlatformKeys({
    [Provider.ANTHROPIC]: config.platformAnthropicKey,
    [Provider.OPENAI]: config.platformOpenAiKey,
    [Provider.OPENROUTER]: config.platformOpenRouterKey,
  });
  const keys = new KeySelector(vault, platformKeys, new TenantScopedCache<CallerKeys>(caches, cacheOptions));
  const keyChecks = createKeyChecks({
    anthropicBaseUrl: config.anthropicBaseUrl,
    openAiBaseUrl: config.openAiBaseUrl,
    openRouterBaseUrl: config.openRouterBaseUrl,
    openRouterAppUrl: config.openRouterAppUrl,
    githubApiUrl: config.githubApiUrl,
    linearApiUrl: config.linearApiUrl,
  });
  const credentials = new CredentialService(vault, keys, keyChecks, audit, caches);
  const keyManagement = new KeyManagementService(vault, dataKeys, audit, caches);
  const agents = new AgentService(modelRules, audit, config.tools);
  const pendingToolCalls = new PendingToolCalls();
  const toolResults = new ToolResults(pendingToolCalls, audit, config.tools.maxOutputBytes);
  const conversations = new ConversationService();
  const models = new ModelService(modelRules, keys);
  const chatProviders = createChatProviders(config);
  const profiles = new CallerProfiles(new TenantScopedCache<CallerProfile>(caches, cacheOptions));
  const holder = { replicaId, leaseMs: config.streamLeaseMs };
  const redis = config.redis ? await connectRedis(config.redis.url, log) : null;
  const budget = new BudgetGuard(holder);
  const planner = new ChatPlanner(
    modelRules,
    keys,
    new UserRateLimiter(redis ? redisRateLimits(redis, config.redis!.keyPrefix) : postgresRateLimits(em.getKnex())),
    budget,
    profiles,
    new PlatformSpendGuard(holder),
    chatProviders,
    config.tools,
  );
  const heldConnections = [new HeldConnection(em), new HeldConnection(em)];
  const recorder = new ChatRecorder(em, audit, heldConnections[0]);
  const resizeReservation: ReservationResize = (started, worstCaseUsd) =>
    budget.resize(em, started.tenantId, started.reservationId!, worstCaseUsd);
  const runner = new ChatRunner(
    chatProviders,
    recorder,
    catalog,
    log,
    DEFAULT_RETRY_POLICY,
    [chatMetricsObserver(metrics), deletedTenantUsage(audit)],
    resizeReservation,
    new ToolLoop(pendingToolCalls, recorder, catalog, config.tools.resultTimeoutMs, log, resizeReservation),
  );
  const streamLeases: StreamLeases = redis
    ? new RedisStreamLeases(redis, config.redis!.keyPrefix, config.streamLimits, config.streamLeaseMs, log)
    : new PgStreamLeases(em, replicaId, config.streamLimits, config.streamLeaseMs, heldConnections[1]);
  const admission = new ChatAdmission(streamLeases, config.streamLimits, log);
  const chat = new ChatService(planner, runner, audit, recorder, new StreamRegistry(config.streamLimits), admission);
  caches.onInvalidate((change) => {
    if (change?.stop) chat.streams.stop(change.tenantId, change.stop);
  });
  observeComponents(metrics, dataKeys, chat, em);
  observeCacheChannel(metrics, caches);
  return {
    replicaId,
    redis,
    streamLeases,
    caches,
    authenticator: new Authenticator(audit, new TenantScopedCache<TokenFacts>(caches, cacheOptions)),
    catalog,
    dataKeys,
    tenants,
    users,
    tokens,
    vault,
    keys,
    credentials,
    keyManagement,
    agents,
    conversations,
    models,
    chat,
    toolResults,
    metrics,
    audit,
    auditQueries: new AuditService(auditKeys),
    usage: new UsageService(),
    heldConnections,
  };
}

/**
 * The providers chat streams through. OpenAI and OpenRouter share one keep-alive pool (a
 * connection carries no key: each request sends its own); Anthropic keeps its own.
 */
function createChatProviders(config: Config): ChatProviders {
  const openAiFetch = createNodeHttpFetch();
  const openAi = new OpenAiClients({ baseURL: config.openAiBaseUrl ?? DEFAULT_OPENAI_BASE_URL, fetch: openAiFetch });
  const openRouter = new OpenAiClients({
    baseURL: config.openRouterBaseUrl ?? DEFAULT_OPENROUTER_BASE_URL,
    headers: openRouterHeaders(config.openRouterAppUrl),
    fetch: openAiFetch,
  });
  return new ChatProviders({
    [Provider.ANTHROPIC]: new AnthropicChat(new AnthropicClients({ baseURL: config.anthropicBaseUrl })),
    [Provider.OPENAI]: new OpenAiChat(openAi, { name: 'OpenAI', maxTokensField: 'max_completion_tokens' }),
    [Provider.OPENROUTER]: new OpenAiChat(openRouter, { name: 'OpenRouter', maxTokensField: 'max_tokens' }),
  });
}

/** The modules, checked against the services: each module's resolvers get what they ask for. */
const modules: readonly GatewayModule<Services>[] = MODULES;

/** One instance of every resolver class the schema names, and the auth checker's. */
function resolverContainer(services: Services): ContainerType {
  const instances = new Map<unknown, object>([[RoleAuthChecker, new RoleAuthChecker(services.audit)]]);
  for (const module of modules) {
    for (const resolver of module.createResolvers(services)) instances.set(resolver.constructor, resolver);
    for (const resolverClass of module.resolvers) {
      if (!instances.has(resolverClass))
        throw new Error(`Module ${module.name} built no instance of ${resolverClass.name}`);
    }
  }
  return {
    get: (resolverClass) => {
      const instance = instances.get(resolverClass);
      if (!instance) throw new Error(`No instance registered for resolver ${String(resolverClass)}`);
      return instance;
    },
  };
}

/** The database the gateway uses: the configured server, or PGlite in the data dir. */
export async function openDatabase(
  config: Config,
  log: Logger,
): Promise<{ orm: MikroORM; embedded?: EmbeddedPostgres }> {
  if (config.databaseUrl) return { orm: await openOrm({ url: config.databaseUrl, entities: ENTITIES }) };
  const embedded = await startEmbeddedPostgres(config.dataDir, 16, log);
  log.info(
    { dataDir: config.dataDir, socketDirectory: embedded.socketDirectory },
    'using embedded PostgreSQL (PGlite); set DATABASE_URL for a server',
  );
  try {
    return { orm: await openOrm({ url: embedded.url, entities: ENTITIES, poolMax: 8 }), embedded };
  } catch (error) {
    await embedded.stop();
    throw error;
  }
}

export class Gateway {
  private draining = false;
  private hurried = false;
  private closing = false;
  private stopped?: Promise<void>;

  private constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly orm: MikroORM,
    readonly services: Services,
    readonly httpServer: Server,
    readonly bootstrap: BootstrapResult,
    private readonly closers: Array<() => Promise<void>>,
  ) {}

  static async start({ config, log, keyrings, onBootstrap }: GatewayOptions): Promise<Gateway> {
    const closers: Array<() => Promise<void>> = [];
    const closeAll = async () => {
      for (const close of closers.splice(0).reverse())
        await close().catch((error) => log.error({ err: error }, 'close failed'));
    };
    try {
      const { orm, embedded } = await openDatabase(config, log);
      if (embedded) closers.push(() => embedded.stop());
      closers.push(() => orm.close());
      const ran = await migrateInChildProcess(orm);
      if (ran.length) log.info({ migrations: ran }, 'applied migrations');

      const services = await createServices(orm.em, keyrings ?? (await createKeyrings(config, log)), config, log);
      const { redis } = services;
      closers.push(async () => services.heldConnections.forEach((connection) => connection.close()));
      if (redis) closers.push(async () => void (await redis.quit().catch(() => redis.disconnect())));
      if (!embedded) {
        // Other replicas may share the server; embedded PGlite belongs to this process alone.
        const channel = new PgInvalidationChannel(orm.em.getConnection().getKnex(), services.caches, log);
        await channel.start();
        closers.push(() => channel.close());
        const stopWatch = new StreamStopWatch(orm.em, services.caches, services.chat.streams, log);
        stopWatch.start();
        closers.push(async () => stopWatch.stop());
      }
      const leaseKeeper = new ReplicaLeaseKeeper(
        orm.em,
        services.replicaId,
        config.streamLeaseMs,
        services.streamLeases,
        () => services.chat.streams.openLeases(),
        log,
      );
      leaseKeeper.start();
      closers.push(() => leaseKeeper.stop());
      const keyed = await services.audit.keyUnkeyedChains();
      if (keyed.length)
        log.info({ chains: keyed.length }, 'audit chains keyed: their earlier events stay plain SHA-256');
      const bootstrap = await bootstrapPlatformAdmin(orm.em.fork(), services.tenants, config.bootstrapToken);
      onBootstrap?.(bootstrap);

      const schema = buildGatewaySchema(RESOLVERS, resolverContainer(services));
      const contexts = new ContextFactory(orm, services.authenticator, services.chat);
      const httpServer = createServer();
      let gateway: Gateway | undefined;
      const limits = buildQueryLimits({
        limits: config.queryLimits,
        introspection: config.introspection,
        production: config.production,
      });
      const apollo = createApollo({
        schema,
        httpServer,
        log,
        limits,
        production: config.production,
        plugins: [operationLogPlugin(log, services.metrics)],
      });
      await apollo.start();
      closers.push(() => apollo.stop());
      const trustProxy = compileTrustProxy(config.trustProxy);
      const app = createHttpApp({
        apollo,
        contexts,
        bodyLimit: config.maxBodyBytes,
        trustProxy,
        routes: [
          healthRoutes(
            orm,
            () => gateway?.draining ?? false,
            () => services.caches.channelState,
          ),
          metricsRoute(services.metrics, config.metricsToken),
        ],
        fallback: consoleRoutes(defaultConsoleDir()),
      });
      httpServer.on('request', app);
      const ws = attachWebSocket({
        httpServer,
        schema,
        contexts,
        log,
        maxPayloadBytes: config.webSocket.maxPayloadBytes,
        connectionInitWaitTimeoutMs: config.webSocket.initTimeoutMs,
        keepAliveMs: config.webSocket.keepAliveMs,
        limits,
        allowedOrigins: config.webSocket.allowedOrigins,
        onOperationEnd: (facts) => recordOperation(log, services.metrics, facts),
        trustProxy,
        unauthenticatedLimits: {
          perIp: config.webSocket.maxUnauthenticatedPerIp,
          total: config.webSocket.maxUnauthenticatedTotal,
        },
        unauthenticatedTimeoutMs: config.webSocket.unauthenticatedTimeoutMs,
      });
      closers.push(() => ws.close());
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => resolve());
      });
      gateway = new Gateway(config, log, orm, services, httpServer, bootstrap, closers);
      return gateway;
    } catch (error) {
      await closeAll();
      throw error;
    }
  }

  get port(): number {
    return (this.httpServer.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://${this.config.host}:${this.port}/graphql`;
  }

  /** The web console, served at / of the same server. */
  get consoleUrl(): string {
    const host = { '0.0.0.0': '127.0.0.1', '::': '[::1]' }[this.config.host] ?? this.config.host;
    return `http://${host}:${this.port}/`;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Stops accepting, lets running requests finish within the grace period, then closes the database. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /**
   * Cuts a stop short (a second signal): open chat streams are ended now rather than after the
   * drain, still recording their usage and partial replies, and HTTP requests get no more grace.
   */
  hurry(): void {
    this.hurried = true;
    this.services.chat.streams.hurry();
    if (this.closing) this.httpServer.closeAllConnections();
  }

  private async shutdown(): Promise<void> {
    this.draining = true;
    await this.services.chat.streams.drain(this.config.drainMs);
    this.closing = true;
    const grace = setTimeout(
      () => this.httpServer.closeAllConnections(),
      this.hurried ? 0 : this.config.shutdownGraceMs,
    );
    try {
      for (const close of this.closers.splice(0).reverse()) {
        await close().catch((error) => this.log.error({ err: error }, 'close failed during shutdown'));
      }
    } finally {
      clearTimeout(grace);
    }
  }
}
