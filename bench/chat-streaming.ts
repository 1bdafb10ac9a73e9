/**
 * Chat streaming overhead benchmark.
 *
 *   npm run build && node dist/bench/chat-streaming.js
 *
 * For each upstream format in BENCH_FORMATS (anthropic,openai), a local server of that API runs in
 * a process of its own (bench/support/upstream-child) and streams BENCH_TOKENS text deltas with no
 * delay: the Anthropic Messages API (test/support/anthropic-server) or OpenAI Chat Completions
 * (test/support/openai-server). A real
 * gateway runs as a child process (`node dist/src/main.js`, NODE_ENV=production, LOG_LEVEL=warn;
 * embedded PGlite in a temp dir, or a fresh database on the server in DATABASE_URL) pointed at
 * that upstream, with tenants and users created through the GraphQL API. Anthropic chats use a
 * TENANT key per tenant; OpenAI chats (gpt-5-mini) the platform key (OPENAI_API_KEY, with
 * OPENAI_BASE_URL at the local server).
 *
 * 1. Overhead, per format, at each concurrency in BENCH_CONCURRENCY (1,16,64): rounds of the same
 *    chat
 *    - direct (the baseline): a lean HTTP client (node:http, keep-alive, the raw body scanned for
 *      delta markers, as peerbench's load client), with the same key, model, message and
 *      max_tokens the gateway sends;
 *    - sdk: the provider's SDK to the upstream (@anthropic-ai/sdk `messages.create`, openai
 *      `chat.completions.create` with `stream_options.include_usage`), for reference: its own
 *      parsing costs the client more than the lean one;
 *    - gateway: the `chat` subscription over graphql-ws, one client (one socket) per worker,
 *      reused for every stream of the worker;
 *    interleaved (D S G, G S D, …) in one run so machine noise hits all three. Time to first token runs
 *    from the subscribe / request call to the first text delta; total time to ChatCompleted /
 *    message_stop (OpenAI: the end of the stream, after the usage chunk). Each round is
 *    BENCH_STREAMS_PER_WORKER streams per worker (at least BENCH_MIN_STREAMS_PER_ROUND), and stops
 *    early after BENCH_ROUND_SECONDS.
 * 2. Memory per 1,000 open idle streams, on Anthropic (only when BENCH_FORMATS names it): a fresh
 *    gateway child, warmed up, then BENCH_IDLE_STREAMS subscriptions over BENCH_IDLE_SOCKETS
 *    sockets whose upstream never answers ('hang'). The child's VmRSS (and VmHWM) is read from
 *    /proc before, at peak and after they are closed.
 *
 * Prints one JSON summary on stdout; progress, then a markdown table per format, on stderr.
 * Just the OpenAI part: BENCH_FORMATS=openai.
 * Other knobs: BENCH_ROUNDS (3 per mode), BENCH_TENANTS (8), BENCH_USERS_PER_TENANT (2),
 * BENCH_GATEWAY_LOG_LEVEL (warn), BENCH_GATEWAY_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { startAnthropicServer } from '../test/support/anthropic-server';
import {
  BENCH_MODELS,
  chatInput,
  connectWs,
  createBenchUsers,
  directChat,
  directClient,
  gatewayChat,
  leanDirectChat,
  leanDirectClient,
  replyTokens,
  type BenchFormat,
  type BenchKeys,
  type BenchUser,
  type ChatHandle,
  type ChatTiming,
  type DirectClient,
  type LeanDirectClient,
} from './support/chat-clients';
import { startGatewayChild, type GatewayChild, type GatewayChildOptions } from './support/gateway-child';
import { startUpstreamProcess } from './support/upstream-process';
import {
  commandLine,
  concurrencyLevelsFromEnv,
  intFromEnv,
  loadAverage,
  machine,
  median,
  mib,
  percentiles,
  progress,
  round,
  type Percentiles,
} from './support/stats';

const FORMATS = (process.env.BENCH_FORMATS ?? 'anthropic,openai').split(',').map((value) => {
  if (value !== 'anthropic' && value !== 'openai') throw new Error('BENCH_FORMATS must list anthropic and/or openai');
  return value as BenchFormat;
});
const TOKENS = intFromEnv('BENCH_TOKENS', 50);
const LEVELS = concurrencyLevelsFromEnv('1,16,64');
const ROUNDS = intFromEnv('BENCH_ROUNDS', 3);
const STREAMS_PER_WORKER = intFromEnv('BENCH_STREAMS_PER_WORKER', 25);
const MIN_STREAMS_PER_ROUND = intFromEnv('BENCH_MIN_STREAMS_PER_ROUND', 200);
const ROUND_SECONDS = intFromEnv('BENCH_ROUND_SECONDS', 60);
const STREAM_TIMEOUT_MS = 30_000;
const TENANTS = intFromEnv('BENCH_TENANTS', 8);
const USERS_PER_TENANT = intFromEnv('BENCH_USERS_PER_TENANT', 2);
const IDLE_STREAMS = intFromEnv('BENCH_IDLE_STREAMS', 1000);
const IDLE_SOCKETS = intFromEnv('BENCH_IDLE_SOCKETS', 50);

const log = progress('chat-streaming');

type Mode = 'direct' | 'sdk' | 'gateway';
const MODES: readonly Mode[] = ['direct', 'sdk', 'gateway'];

interface RoundResult {
  mode: Mode;
  streams: number;
  errors: string[];
  seconds: number;
  ttft: number[];
  total: number[];
  started: number[];
  /** Last delta to ChatCompleted (gateway) or message_stop (direct). */
  tail: number[];
}

/** A local upstream of one format, and how the gateway child and the bench's users reach it. */
interface Upstream {
  format: BenchFormat;
  baseURL: string;
  gatewayOptions: GatewayChildOptions;
  keys: BenchKeys;
  describe: string;
  close(): Promise<void>;
}

async function startUpstream(format: BenchFormat): Promise<Upstream> {
  const describe = `local ${format === 'anthropic' ? 'Anthropic Messages' : 'OpenAI Chat Completions'} API server in its own process, ${TOKENS} text deltas, no delay`;
  const { baseURL, stop: close } = await startUpstreamProcess(format, TOKENS);
  if (format === 'anthropic') {
    return {
      format,
      baseURL,
      describe,
      close,
      gatewayOptions: { upstreamBaseUrl: baseURL },
      keys: { source: 'TENANT' },
    };
  }
  const platformKey = `sk-proj-bench-${randomBytes(32).toString('base64url')}`;
  return {
    format,
    baseURL,
    describe,
    close,
    gatewayOptions: { env: { OPENAI_BASE_URL: baseURL, OPENAI_API_KEY: platformKey } },
    keys: { source: 'PLATFORM', apiKey: platformKey },
  };
}

interface World {
  upstream: Upstream;
  gateway: GatewayChild;
  users: BenchUser[];
  direct: Map<number, LeanDirectClient>;
  sdk: Map<number, DirectClient>;
}

async function runRound(world: World, mode: Mode, sockets: Client[], streams: number): Promise<RoundResult> {
  const result: RoundResult = { mode, streams: 0, errors: [], seconds: 0, ttft: [], total: [], started: [], tail: [] };
  const concurrency = sockets.length;
  let issued = 0;
  const begin = performance.now();
  const deadline = begin + ROUND_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      const user = world.users[worker % world.users.length];
      while (issued < streams && performance.now() < deadline) {
        issued++;
        const timing: ChatTiming =
          mode === 'direct'
            ? await leanDirectChat(world.direct.get(user.tenantIndex)!, STREAM_TIMEOUT_MS)
            : mode === 'sdk'
              ? await directChat(world.sdk.get(user.tenantIndex)!, STREAM_TIMEOUT_MS)
              : await gatewayChat(sockets[worker], chatInput(world.upstream.format), STREAM_TIMEOUT_MS).done;
        if (!timing.ok || timing.deltas !== TOKENS) {
          result.errors.push(timing.error ?? `DELTAS_${timing.deltas}`);
          continue;
        }
        result.streams++;
        result.ttft.push(timing.ttftMs!);
        result.total.push(timing.totalMs!);
        result.tail.push(timing.totalMs! - timing.lastDeltaMs!);
        if (timing.startedMs !== undefined) result.started.push(timing.startedMs);
      }
    }),
  );
  result.seconds = (performance.now() - begin) / 1000;
  return result;
}

interface ModeSummary {
  streams: number;
  errors: number;
  errorCodes: Record<string, number>;
  ttft: Percentiles;
  total: Percentiles;
  /** Gateway only: subscribe call to ChatStarted (auth, planning, audit, before any upstream call). */
  timeToChatStarted?: Percentiles;
  /** Last text delta to ChatCompleted (gateway: the usage transaction) or message_stop (direct). */
  lastDeltaToEnd: Percentiles;
  streamsPerSecond: number;
  /** streams/s of each round, to show the spread. */
  roundStreamsPerSecond: number[];
}

function summarizeMode(rounds: RoundResult[]): ModeSummary {
  const all = (pick: (round: RoundResult) => number[]) => rounds.flatMap(pick);
  const streams = rounds.reduce((sum, r) => sum + r.streams, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const errorCodes: Record<string, number> = {};
  for (const code of rounds.flatMap((r) => r.errors)) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  const started = all((r) => r.started);
  return {
    streams,
    errors: rounds.reduce((sum, r) => sum + r.errors.length, 0),
    errorCodes,
    ttft: percentiles(all((r) => r.ttft)),
    total: percentiles(all((r) => r.total)),
    ...(started.length ? { timeToChatStarted: percentiles(started) } : {}),
    lastDeltaToEnd: percentiles(all((r) => r.tail)),
    streamsPerSecond: round(streams / seconds, 1),
    roundStreamsPerSecond: rounds.map((r) => round(r.streams / r.seconds, 1)),
  };
}

async function startWorld(upstream: Upstream): Promise<World> {
  const gateway = await startGatewayChild(upstream.gatewayOptions);
  log(
    `${upstream.format}: gateway pid ${gateway.pid} on ${gateway.url} (${gateway.database}); creating ${TENANTS} tenants × ${USERS_PER_TENANT} users (${upstream.keys.source} key)`,
  );
  const users = await createBenchUsers(gateway.url, gateway.platformToken, TENANTS, USERS_PER_TENANT, upstream.keys);
  const direct = new Map<number, LeanDirectClient>();
  const sdk = new Map<number, DirectClient>();
  for (const user of users) {
    if (direct.has(user.tenantIndex)) continue;
    direct.set(user.tenantIndex, leanDirectClient(upstream.format, upstream.baseURL, user.apiKey));
    sdk.set(user.tenantIndex, directClient(upstream.format, upstream.baseURL, user.apiKey));
  }
  return { upstream, gateway, users, direct, sdk };
}

async function connectSockets(world: World, count: number): Promise<Client[]> {
  const sockets: Client[] = [];
  // A few at a time: each connect authenticates nothing yet, but keeps the handshake burst small.
  for (let i = 0; i < count; i += 16) {
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(16, count - i) }, (_, j) =>
          connectWs(world.gateway.wsUrl, world.users[(i + j) % world.users.length].token),
        ),
      )),
    );
  }
  return sockets;
}

async function overhead(upstream: Upstream) {
  const world = await startWorld(upstream);
  const levels = [];
  try {
    for (const concurrency of LEVELS) {
      const sockets = await connectSockets(world, concurrency);
      const streams = Math.max(MIN_STREAMS_PER_ROUND, STREAMS_PER_WORKER * concurrency);
      // Warm-up (not recorded): JIT, connection pools, data-key cache.
      for (const mode of MODES) {
        const warm = await runRound(world, mode, sockets, Math.min(streams, Math.max(50, 4 * concurrency)));
        if (warm.errors.length)
          log(`warm-up ${mode} c=${concurrency}: ${warm.errors.length} errors (${warm.errors.slice(0, 3).join(', ')})`);
      }
      const byMode: Record<Mode, RoundResult[]> = { direct: [], sdk: [], gateway: [] };
      const loadBefore = loadAverage();
      // D S G, G S D, …: each mode comes first as often as last.
      for (let r = 0; r < ROUNDS; r++) {
        const order: Mode[] = r % 2 === 0 ? [...MODES] : [...MODES].reverse();
        for (const mode of order) {
          const result = await runRound(world, mode, sockets, streams);
          byMode[mode].push(result);
          log(
            `${upstream.format} c=${concurrency} round ${r + 1}/${ROUNDS} ${mode}: ${result.streams} streams in ${result.seconds.toFixed(2)} s ` +
              `(${(result.streams / result.seconds).toFixed(1)}/s), ttft p50 ${percentiles(result.ttft).p50Ms} ms, ${result.errors.length} errors`,
          );
        }
      }
      for (const socket of sockets) await socket.dispose();
      const direct = summarizeMode(byMode.direct);
      const sdk = summarizeMode(byMode.sdk);
      const gateway = summarizeMode(byMode.gateway);
      levels.push({
        concurrency,
        streamsPerRound: streams,
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadAverage(),
        direct,
        sdk,
        gateway,
        added: {
          ttftP50Ms: round(gateway.ttft.p50Ms - direct.ttft.p50Ms),
          ttftP95Ms: round(gateway.ttft.p95Ms - direct.ttft.p95Ms),
          ttftP99Ms: round(gateway.ttft.p99Ms - direct.ttft.p99Ms),
          totalP50Ms: round(gateway.total.p50Ms - direct.total.p50Ms),
          totalP99Ms: round(gateway.total.p99Ms - direct.total.p99Ms),
        },
        gatewayShareOfDirectStreamsPerSecond: round(gateway.streamsPerSecond / direct.streamsPerSecond, 3),
        gatewayShareOfSdkStreamsPerSecond: round(gateway.streamsPerSecond / sdk.streamsPerSecond, 3),
      });
    }
    return {
      format: upstream.format,
      model: BENCH_MODELS[upstream.format],
      keySource: upstream.keys.source,
      upstream: upstream.describe,
      database: world.gateway.database,
      levels,
      gatewayLogs: world.gateway.logs,
      targets: targets(levels),
    };
  } finally {
    await world.gateway.stop();
  }
}

const HEAP_METRICS = [
  'keyward_nodejs_heap_size_used_bytes',
  'keyward_nodejs_heap_size_total_bytes',
  'keyward_nodejs_external_memory_bytes',
  'keyward_chat_streams_open',
];

interface MemorySamples {
  rss: number[];
  heapUsed: number[];
  external: number[];
  streamsOpen: number[];
}

/** VmRSS every 200 ms and the V8 heap (from /metrics) every 600 ms, for `ms`. */
async function sampleFor(gateway: GatewayChild, ms: number): Promise<MemorySamples> {
  const samples: MemorySamples = { rss: [], heapUsed: [], external: [], streamsOpen: [] };
  const until = performance.now() + ms;
  for (let i = 0; performance.now() < until; i++) {
    samples.rss.push(gateway.proc().rss);
    if (i % 3 === 0) {
      const m = await gateway.metrics(HEAP_METRICS);
      samples.heapUsed.push(m.keyward_nodejs_heap_size_used_bytes);
      samples.external.push(m.keyward_nodejs_external_memory_bytes);
      samples.streamsOpen.push(m.keyward_chat_streams_open);
    }
    await sleep(200);
  }
  return samples;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await sleep(100);
  }
  log(`gave up waiting for ${what} after ${timeoutMs} ms`);
  return false;
}

/** Needs the upstream's request records and a 'hang' behaviour: the Anthropic server runs in this process. */
async function idleMemory() {
  const upstream = await startAnthropicServer();
  upstream.setBehaviour({ kind: 'stream', tokens: replyTokens(TOKENS), delayMs: 0 });
  const local: Upstream = {
    format: 'anthropic',
    baseURL: upstream.baseURL,
    describe: 'local Anthropic Messages API server in the bench process',
    close: () => upstream.close(),
    gatewayOptions: { upstreamBaseUrl: upstream.baseURL },
    keys: { source: 'TENANT' },
  };
  const world = await startWorld(local);
  try {
    const sockets = await connectSockets(world, IDLE_SOCKETS);
    // Warm up with ordinary streams so JIT, pools and caches are in the baseline.
    const warm = await runRound(world, 'gateway', sockets, 500);
    log(`idle: warm-up ${warm.streams} streams, ${warm.errors.length} errors`);
    upstream.requests.splice(0);
    await sleep(3000);
    const before = await sampleFor(world.gateway, 3000);
    const rssBefore = median(before.rss);
    const heapBefore = median(before.heapUsed);

    upstream.setBehaviour({ kind: 'hang' });
    const openedAt = performance.now();
    const handles: ChatHandle[] = Array.from({ length: IDLE_STREAMS }, (_, i) =>
      gatewayChat(sockets[i % sockets.length], chatInput(), 600_000),
    );
    const outcomes: ChatTiming[] = [];
    for (const handle of handles) void handle.done.then((timing) => outcomes.push(timing));
    const peakDuringOpen: number[] = [];
    let allStarted = false;
    void Promise.all(handles.map((h) => h.started)).then(() => (allStarted = true));
    await waitFor(
      `${IDLE_STREAMS} ChatStarted`,
      () => {
        peakDuringOpen.push(world.gateway.proc().rss);
        return allStarted;
      },
      180_000,
    );
    const openSeconds = (performance.now() - openedAt) / 1000;
    const hanging = () =>
      upstream.requests.filter(
        (r) => r.path === '/v1/messages' && r.behaviour?.kind === 'hang' && r.socketClosedAt === undefined,
      ).length;
    await waitFor(`${IDLE_STREAMS} requests held by the upstream`, () => hanging() >= IDLE_STREAMS, 30_000);
    const failedEarly = outcomes.filter((o) => !o.ok).length;
    log(
      `idle: ${IDLE_STREAMS} streams open in ${openSeconds.toFixed(1)} s, upstream holds ${hanging()}, ${failedEarly} ended early`,
    );
    const atPeak = await sampleFor(world.gateway, 3000);
    const peakRss = Math.max(...atPeak.rss, ...peakDuringOpen);
    const heapAtPeak = median(atPeak.heapUsed);
    const hwm = world.gateway.proc().hwm;

    for (const handle of handles) handle.cancel();
    await waitFor(
      'open streams to drain',
      async () => (await world.gateway.metrics(['keyward_chat_streams_open'])).keyward_chat_streams_open === 0,
      120_000,
    );
    await waitFor('upstream requests to close', () => hanging() === 0, 30_000);
    await sleep(3000);
    const after = await sampleFor(world.gateway, 3000);
    for (const socket of sockets) await socket.dispose();

    const per1000 = (bytes: number) => mib((bytes * 1000) / IDLE_STREAMS);
    return {
      streams: IDLE_STREAMS,
      sockets: IDLE_SOCKETS,
      measuredIn: `gateway child process pid ${world.gateway.pid}: /proc/<pid>/status VmRSS, VmHWM; heap from its /metrics`,
      secondsToOpenAll: round(openSeconds, 2),
      upstreamHeld: IDLE_STREAMS,
      endedEarly: failedEarly,
      rssBeforeMiB: mib(rssBefore),
      rssPeakMiB: mib(peakRss),
      vmHwmMiB: mib(hwm),
      rssAfterCloseMiB: mib(median(after.rss)),
      heapUsedBeforeMiB: mib(heapBefore),
      heapUsedAtPeakMiB: mib(heapAtPeak),
      heapUsedAfterCloseMiB: mib(median(after.heapUsed)),
      externalBeforeMiB: mib(median(before.external)),
      externalAtPeakMiB: mib(median(atPeak.external)),
      streamsOpenAtPeak: Math.min(...atPeak.streamsOpen),
      streamsOpenAfterClose: Math.max(...after.streamsOpen),
      rssPer1000StreamsMiB: per1000(peakRss - rssBefore),
      heapPer1000StreamsMiB: per1000(heapAtPeak - heapBefore),
      note: 'heap figures are medians of samples taken every 600 ms (V8 collects garbage on its own schedule, so they are noisy); RSS before/after are medians, RSS at peak the maximum',
      gatewayLogs: world.gateway.logs,
    };
  } finally {
    await world.gateway.stop();
    await upstream.close();
  }
}

type Overhead = Awaited<ReturnType<typeof overhead>>;

interface LevelOverhead {
  concurrency: number;
  added: { ttftP50Ms: number; ttftP99Ms: number };
  gatewayShareOfDirectStreamsPerSecond: number;
}

/** The issue's targets, the same for every format. */
function targets(levels: LevelOverhead[]) {
  const c1 = levels.find((level) => level.concurrency === 1);
  const c64 = levels.find((level) => level.concurrency === 64);
  return {
    addedTtftP50AtC1: { targetMs: 1, measuredMs: c1?.added.ttftP50Ms, met: c1 ? c1.added.ttftP50Ms <= 1 : undefined },
    addedTtftP99AtC1: { targetMs: 3, measuredMs: c1?.added.ttftP99Ms, met: c1 ? c1.added.ttftP99Ms <= 3 : undefined },
    streamsPerSecondAtC64: {
      target: '>= 70% of direct',
      measured: c64?.gatewayShareOfDirectStreamsPerSecond,
      met: c64 ? c64.gatewayShareOfDirectStreamsPerSecond >= 0.7 : undefined,
    },
  };
}

function markdown(results: Overhead[], idle: Awaited<ReturnType<typeof idleMemory>> | undefined): string {
  const lines: string[] = [];
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  for (const result of results) {
    lines.push(
      `${result.format} (${result.model}, ${result.keySource} key):`,
      '',
      '| concurrency | path | streams | TTFT p50 | TTFT p95 | TTFT p99 | total p50 | total p95 | total p99 | streams/s |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const level of result.levels) {
      for (const mode of MODES) {
        const m = level[mode];
        lines.push(
          `| ${level.concurrency} | ${mode}${m.errors ? ` (${m.errors} errors)` : ''} | ${m.streams} | ${ms(m.ttft.p50Ms)} | ${ms(m.ttft.p95Ms)} | ${ms(m.ttft.p99Ms)} | ` +
            `${ms(m.total.p50Ms)} | ${ms(m.total.p95Ms)} | ${ms(m.total.p99Ms)} | ${m.streamsPerSecond} |`,
        );
      }
      lines.push(
        `| ${level.concurrency} | **added** | | **${ms(level.added.ttftP50Ms)}** | ${ms(level.added.ttftP95Ms)} | **${ms(level.added.ttftP99Ms)}** | ` +
          `${ms(level.added.totalP50Ms)} | | ${ms(level.added.totalP99Ms)} | **${Math.round(level.gatewayShareOfDirectStreamsPerSecond * 100)}%** of direct |`,
      );
    }
    lines.push('');
  }
  if (idle) {
    lines.push(
      `Idle streams (anthropic): ${idle.streams} over ${idle.sockets} sockets; gateway RSS ${idle.rssBeforeMiB} → ${idle.rssPeakMiB} MiB ` +
        `(+${idle.rssPer1000StreamsMiB} MiB per 1,000), heap used ${idle.heapUsedBeforeMiB} → ${idle.heapUsedAtPeakMiB} MiB ` +
        `(+${idle.heapPer1000StreamsMiB} MiB per 1,000), VmHWM ${idle.vmHwmMiB} MiB, RSS after closing ${idle.rssAfterCloseMiB} MiB.`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const results: Overhead[] = [];
  let idle: Awaited<ReturnType<typeof idleMemory>> | undefined;
  for (const format of FORMATS) {
    const upstream = await startUpstream(format);
    try {
      log(`${format}: upstream on ${upstream.baseURL}; ${TOKENS} tokens, no delay; concurrency ${LEVELS.join(', ')}`);
      results.push(await overhead(upstream));
    } finally {
      await upstream.close();
    }
    if (format === 'anthropic') {
      log(`overhead done; idle-stream memory with ${IDLE_STREAMS} streams on a fresh gateway`);
      idle = await idleMemory();
    }
  }
  const summary = {
    benchmark: 'chat-streaming',
    command: commandLine(),
    startedAt: started,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    gateway:
      'child process: node dist/src/main.js, NODE_ENV=production, LOG_LEVEL=' +
      (process.env.BENCH_GATEWAY_LOG_LEVEL ?? 'warn'),
    tenants: TENANTS,
    usersPerTenant: USERS_PER_TENANT,
    overhead: results,
    ...(idle ? { idleStreams: idle } : {}),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.stderr.write(`\n${markdown(results, idle)}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
