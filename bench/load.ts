/**
 * Load and soak benchmark: many concurrent chat streams on one gateway process.
 *
 *   npm run bench:load     (npm run build && node dist/bench/load.js)
 *   npm run bench:soak     (npm run build && node dist/bench/load.js --soak 10)
 *   node dist/bench/load.js --soak 0.5          (a 30-second smoke run)
 *
 * The local Anthropic API server (test/support/anthropic-server) runs in this process and
 * streams BENCH_LOAD_TOKENS (30) text deltas BENCH_LOAD_DELAY_MS (20) ms apart. The gateway runs
 * as a child process (`node dist/src/main.js`, NODE_ENV=production, LOG_LEVEL=warn; embedded
 * PGlite in a temp dir, or a fresh database on the server in DATABASE_URL), so that the RSS and
 * CPU read from /proc/<pid>/status and /proc/<pid>/stat are the gateway's own (with PGlite, the
 * database's work runs inside that process too). Tenants, users and tenant keys are created
 * through the GraphQL API; clients are graphql-ws over BENCH_LOAD_SOCKETS (50) WebSockets.
 *
 * Load (default): BENCH_LOAD_STREAMS (1,000) `chat` subscriptions started at once, spread over
 * the sockets (50 × 20). Every one must end with ChatCompleted carrying all the deltas, with no
 * error, within BENCH_LOAD_TIMEOUT_SECONDS (300); the usage rows are checked through the API.
 * Reports duration, time to first token, peak RSS (sampled VmRSS every 100 ms, and VmHWM), CPU
 * seconds (utime + stime) per stream, and the peak number of open streams.
 *
 * Soak (`--soak <minutes>`): BENCH_SOAK_RATE (20) chats per second started on a fixed schedule
 * (open loop, at most 1,000 in flight) for the duration, sampling the gateway's VmRSS and V8 heap
 * (from its /metrics) every BENCH_SOAK_SAMPLE_SECONDS (10). Memory is called flat when, after a
 * warm-up (the first minute, or the first fifth of a shorter run), the median of the last third
 * of the samples is at most 10% above the median of the first third, for RSS and heap used alike.
 *
 * Prints one JSON summary on stdout; progress and a markdown table on stderr. Exit code 1 when a
 * chat did not complete (flatness is reported, not enforced).
 * Other knobs: BENCH_TENANTS (8), BENCH_USERS_PER_TENANT (4), BENCH_GATEWAY_LOG_LEVEL (warn),
 * BENCH_GATEWAY_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'graphql-ws';
import { startAnthropicServer, type AnthropicServer } from '../test/support/anthropic-server';
import {
  chatInput,
  connectWs,
  createBenchUsers,
  gatewayChat,
  replyTokens,
  usageTotals,
  type BenchUser,
  type ChatTiming,
} from './support/chat-clients';
import { startGatewayChild, type GatewayChild } from './support/gateway-child';
import {
  commandLine,
  intFromEnv,
  loadAverage,
  machine,
  median,
  mib,
  numberFromEnv,
  percentiles,
  progress,
  round,
  slope,
} from './support/stats';

const STREAMS = intFromEnv('BENCH_LOAD_STREAMS', 1000);
const SOCKETS = intFromEnv('BENCH_LOAD_SOCKETS', 50);
const TOKENS = intFromEnv('BENCH_LOAD_TOKENS', 30);
const DELAY_MS = intFromEnv('BENCH_LOAD_DELAY_MS', 20);
const TIMEOUT_SECONDS = intFromEnv('BENCH_LOAD_TIMEOUT_SECONDS', 300);
const TENANTS = intFromEnv('BENCH_TENANTS', 8);
const USERS_PER_TENANT = intFromEnv('BENCH_USERS_PER_TENANT', 4);
const SOAK_RATE = numberFromEnv('BENCH_SOAK_RATE', 20);
const SOAK_SAMPLE_SECONDS = numberFromEnv('BENCH_SOAK_SAMPLE_SECONDS', 10);
const SOAK_MAX_IN_FLIGHT = 1000;
const FLAT_THRESHOLD = 0.1;

const HEAP_METRICS = [
  'keyward_nodejs_heap_size_used_bytes',
  'keyward_nodejs_heap_size_total_bytes',
  'keyward_nodejs_external_memory_bytes',
  'keyward_chat_streams_open',
];

function soakMinutes(): number | undefined {
  const index = process.argv.indexOf('--soak');
  if (index === -1) return undefined;
  const minutes = Number(process.argv[index + 1] ?? 10);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60)
    throw new Error('--soak takes a number of minutes (0 < m ≤ 1440)');
  return minutes;
}

const log = progress('load');

interface Setup {
  upstream: AnthropicServer;
  gateway: GatewayChild;
  users: BenchUser[];
  sockets: Client[];
  warmUpChats: number;
}

async function setUp(): Promise<Setup> {
  const upstream = await startAnthropicServer();
  upstream.setBehaviour({ kind: 'stream', tokens: replyTokens(TOKENS), delayMs: DELAY_MS });
  const gateway = await startGatewayChild({ upstreamBaseUrl: upstream.baseURL });
  log(
    `gateway pid ${gateway.pid} on ${gateway.url} (${gateway.database}); upstream ${upstream.baseURL}: ${TOKENS} tokens, ${DELAY_MS} ms apart`,
  );
  const users = await createBenchUsers(gateway.url, gateway.platformToken, TENANTS, USERS_PER_TENANT);
  const sockets: Client[] = [];
  for (let i = 0; i < SOCKETS; i++) sockets.push(await connectWs(gateway.wsUrl, users[i % users.length].token));
  // Warm-up: two chats per socket, so JIT, pools and the data-key cache are in the baseline.
  const warm = await Promise.all(
    Array.from({ length: 2 * SOCKETS }, (_, i) => gatewayChat(sockets[i % SOCKETS], chatInput(), 60_000).done),
  );
  const failed = warm.filter((t) => !t.ok);
  if (failed.length)
    throw new Error(
      `warm-up: ${failed.length} chats failed (${failed
        .slice(0, 3)
        .map((t) => t.error)
        .join(', ')})`,
    );
  upstream.requests.splice(0);
  log(`${users.length} users, ${SOCKETS} sockets, warm-up of ${warm.length} chats done`);
  await sleep(2000);
  return { upstream, gateway, users, sockets, warmUpChats: warm.length };
}

async function tearDown(setup: Setup): Promise<void> {
  for (const socket of setup.sockets) await socket.dispose();
  await setup.gateway.stop();
  await setup.upstream.close();
}

const countCodes = (timings: ChatTiming[]) => {
  const codes: Record<string, number> = {};
  for (const t of timings)
    if (!t.ok || t.deltas !== TOKENS)
      codes[t.error ?? `DELTAS_${t.deltas}`] = (codes[t.error ?? `DELTAS_${t.deltas}`] ?? 0) + 1;
  return codes;
};

function dataDirBytes(dir: string | undefined): number | undefined {
  if (!dir) return undefined;
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return undefined;
  }
}

async function load(setup: Setup) {
  const { gateway, sockets } = setup;
  const before = gateway.proc();
  const heapBefore = await gateway.metrics(HEAP_METRICS);
  let peakRss = before.rss;
  let peakOpen = 0;
  let streaming = 0;
  let peakStreaming = 0;
  let sampling = true;
  const rssSampler = (async () => {
    while (sampling) {
      peakRss = Math.max(peakRss, gateway.proc().rss);
      await sleep(100);
    }
  })();
  const openSampler = (async () => {
    while (sampling) {
      const { keyward_chat_streams_open: open } = await gateway.metrics(['keyward_chat_streams_open']);
      peakOpen = Math.max(peakOpen, open);
      await sleep(250);
    }
  })();

  log(`starting ${STREAMS} chats over ${SOCKETS} sockets`);
  const start = performance.now();
  const handles = Array.from({ length: STREAMS }, (_, i) =>
    gatewayChat(sockets[i % SOCKETS], chatInput(), TIMEOUT_SECONDS * 1000),
  );
  let lastStartedAt = 0;
  for (const handle of handles) {
    let started = false;
    void handle.started.then((didStart) => {
      if (!didStart) return;
      started = true;
      lastStartedAt = performance.now();
      peakStreaming = Math.max(peakStreaming, ++streaming);
    });
    void handle.done.then(() => {
      if (started) streaming--;
    });
  }
  let completed = 0;
  const progressTimer = setInterval(() => log(`  ${completed}/${STREAMS} done, ${streaming} streaming`), 5000);
  const timings = await Promise.all(handles.map((h) => h.done.then((t) => (completed++, t))));
  const seconds = (performance.now() - start) / 1000;
  clearInterval(progressTimer);
  const after = gateway.proc();
  const heapAfter = await gateway.metrics(HEAP_METRICS);
  sampling = false;
  await Promise.all([rssSampler, openSampler]);
  peakRss = Math.max(peakRss, after.rss);

  const ok = timings.filter((t) => t.ok && t.deltas === TOKENS);
  const usage = await usageTotals(gateway.url, setup.users);
  const expectedRequests = STREAMS + setup.warmUpChats;
  const cpuSeconds = after.cpuSeconds - before.cpuSeconds;
  const result = {
    streams: STREAMS,
    sockets: SOCKETS,
    subscriptionsPerSocket: STREAMS / SOCKETS,
    completed: ok.length,
    errors: STREAMS - ok.length,
    errorCodes: countCodes(timings),
    allCompleted: ok.length === STREAMS,
    usageRowsCheck: {
      expected: expectedRequests,
      requests: usage.requests,
      outputTokens: usage.outputTokens,
      ok: usage.requests === expectedRequests && usage.outputTokens === expectedRequests * TOKENS,
    },
    durationSeconds: round(seconds, 2),
    secondsUntilLastChatStarted: round((lastStartedAt - start) / 1000, 2),
    peakOpenStreamsGateway: peakOpen,
    peakStreamingClientSide: peakStreaming,
    timeToChatStarted: percentiles(ok.map((t) => t.startedMs!)),
    ttft: percentiles(ok.map((t) => t.ttftMs!)),
    total: percentiles(ok.map((t) => t.totalMs!)),
    /** ChatStarted to the first delta: the upstream request as seen through the gateway. */
    chatStartedToFirstDelta: percentiles(ok.map((t) => t.ttftMs! - t.startedMs!)),
    /** First to last delta (the upstream sends them BENCH_LOAD_DELAY_MS apart: 29 × 20 ms by default). */
    firstToLastDelta: percentiles(ok.map((t) => t.lastDeltaMs! - t.ttftMs!)),
    /** Last delta to ChatCompleted: the usage/message transaction, and any wait for a pooled connection. */
    lastDeltaToCompleted: percentiles(ok.map((t) => t.totalMs! - t.lastDeltaMs!)),
    rssBeforeMiB: mib(before.rss),
    rssPeakSampledMiB: mib(peakRss),
    vmHwmMiB: mib(after.hwm),
    rssAfterMiB: mib(after.rss),
    heapUsedBeforeMiB: mib(heapBefore.keyward_nodejs_heap_size_used_bytes),
    heapUsedAfterMiB: mib(heapAfter.keyward_nodejs_heap_size_used_bytes),
    cpuSeconds: round(cpuSeconds, 2),
    cpuMsPerStream: round((cpuSeconds * 1000) / STREAMS, 2),
    averageCpuCores: round(cpuSeconds / seconds, 2),
    dataDirMiB: setup.gateway.dataDir ? mib(dataDirBytes(setup.gateway.dataDir) ?? NaN) : undefined,
  };
  return result;
}

interface SoakSample {
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  cpuSeconds: number;
  streamsOpen: number;
  started: number;
  completed: number;
  errors: number;
  windowTtftP50Ms: number;
  windowTtftP99Ms: number;
}

async function soak(setup: Setup, minutes: number) {
  const { gateway, sockets, upstream } = setup;
  const durationMs = minutes * 60_000;
  const intervalMs = 1000 / SOAK_RATE;
  const samples: SoakSample[] = [];
  const timings: ChatTiming[] = [];
  let window: number[] = [];
  let started = 0;
  let skipped = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const pending = new Set<Promise<unknown>>();
  const cpuStart = gateway.proc().cpuSeconds;
  const t0 = performance.now();

  const sample = async () => {
    const proc = gateway.proc();
    const heap = await gateway.metrics(HEAP_METRICS);
    const ttft = percentiles(window);
    window = [];
    const s: SoakSample = {
      t: round((performance.now() - t0) / 1000, 1),
      rssMiB: mib(proc.rss),
      heapUsedMiB: mib(heap.keyward_nodejs_heap_size_used_bytes),
      heapTotalMiB: mib(heap.keyward_nodejs_heap_size_total_bytes),
      externalMiB: mib(heap.keyward_nodejs_external_memory_bytes),
      cpuSeconds: round(proc.cpuSeconds - cpuStart, 2),
      streamsOpen: heap.keyward_chat_streams_open,
      started,
      completed: timings.filter((t) => t.ok).length,
      errors: timings.filter((t) => !t.ok || t.deltas !== TOKENS).length,
      windowTtftP50Ms: ttft.p50Ms,
      windowTtftP99Ms: ttft.p99Ms,
    };
    samples.push(s);
    log(
      `t=${s.t}s rss ${s.rssMiB} MiB heap ${s.heapUsedMiB}/${s.heapTotalMiB} MiB, open ${s.streamsOpen}, ` +
        `${s.completed}/${started} done, ${s.errors} errors, ttft p50 ${s.windowTtftP50Ms} ms p99 ${s.windowTtftP99Ms} ms`,
    );
    // The local upstream keeps a record of every request; drop them so the bench itself stays flat.
    upstream.requests.splice(0);
  };

  log(`soak: ${SOAK_RATE} chats/s for ${minutes} min, sampling every ${SOAK_SAMPLE_SECONDS} s`);
  await sample();
  let nextSample = SOAK_SAMPLE_SECONDS * 1000;
  for (let i = 0; ; i++) {
    const due = i * intervalMs;
    if (due >= durationMs) break;
    while (nextSample <= due) {
      const wait = nextSample - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
      await sample();
      nextSample += SOAK_SAMPLE_SECONDS * 1000;
    }
    const wait = due - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
    if (inFlight >= SOAK_MAX_IN_FLIGHT) {
      skipped++;
      continue;
    }
    started++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const done = gatewayChat(sockets[i % sockets.length], chatInput(), 120_000).done.then((timing) => {
      inFlight--;
      timings.push(timing);
      if (timing.ok) window.push(timing.ttftMs!);
      pending.delete(done);
    });
    pending.add(done);
  }
  const issuedSeconds = (performance.now() - t0) / 1000;
  const drainDeadline = performance.now() + 120_000;
  while (pending.size > 0 && performance.now() < drainDeadline) await sleep(100);
  await sample();

  // Flatness: drop the warm-up, compare the medians of the first and last thirds.
  const warmUpSeconds = Math.min(60, (minutes * 60) / 5);
  const steady = samples.filter((s) => s.t >= warmUpSeconds);
  const third = Math.max(1, Math.floor(steady.length / 3));
  const first = steady.slice(0, third);
  const last = steady.slice(-third);
  const growth = (pick: (s: SoakSample) => number) => {
    const a = median(first.map(pick));
    const b = median(last.map(pick));
    return {
      firstThirdMedianMiB: round(a, 1),
      lastThirdMedianMiB: round(b, 1),
      growth: round(b / a - 1, 3),
      flat: b <= a * (1 + FLAT_THRESHOLD),
    };
  };
  const rss = growth((s) => s.rssMiB);
  const heap = growth((s) => s.heapUsedMiB);
  const ok = timings.filter((t) => t.ok && t.deltas === TOKENS);
  const usage = await usageTotals(gateway.url, setup.users);
  const expectedRequests = started + setup.warmUpChats;
  return {
    minutes,
    ratePerSecond: SOAK_RATE,
    secondsIssuing: round(issuedSeconds, 1),
    started,
    skippedAtInFlightCap: skipped,
    maxInFlight,
    completed: ok.length,
    errors: timings.length - ok.length + (started - timings.length),
    errorCodes: countCodes(timings),
    unfinished: started - timings.length,
    usageRowsCheck: { expected: expectedRequests, requests: usage.requests, ok: usage.requests === expectedRequests },
    ttft: percentiles(ok.map((t) => t.ttftMs!)),
    total: percentiles(ok.map((t) => t.totalMs!)),
    lastDeltaToCompleted: percentiles(ok.map((t) => t.totalMs! - t.lastDeltaMs!)),
    cpuMsPerStream: round((samples[samples.length - 1].cpuSeconds * 1000) / Math.max(1, started), 2),
    flatness: {
      rule: `after ${warmUpSeconds} s of warm-up, median of the last third of samples ≤ ${Math.round(100 * (1 + FLAT_THRESHOLD))}% of the median of the first third`,
      rss,
      heapUsed: heap,
      flat: rss.flat && heap.flat,
      rssSlopeMiBPerMinute: round(
        slope(
          steady.map((s) => s.t / 60),
          steady.map((s) => s.rssMiB),
        ),
        2,
      ),
      heapSlopeMiBPerMinute: round(
        slope(
          steady.map((s) => s.t / 60),
          steady.map((s) => s.heapUsedMiB),
        ),
        2,
      ),
    },
    dataDirMiB: setup.gateway.dataDir ? mib(dataDirBytes(setup.gateway.dataDir) ?? NaN) : undefined,
    samples,
  };
}

async function main(): Promise<void> {
  const minutes = soakMinutes();
  const startedAt = new Date().toISOString();
  const loadBefore = loadAverage();
  const setup = await setUp();
  let failed: boolean;
  try {
    const common = {
      command: commandLine(),
      startedAt,
      machine: machine(),
      database: setup.gateway.database,
      gateway: `child process pid ${setup.gateway.pid}: node dist/src/main.js, NODE_ENV=production, LOG_LEVEL=${process.env.BENCH_GATEWAY_LOG_LEVEL ?? 'warn'}`,
      upstream: `local Anthropic API server in the bench process: ${TOKENS} text deltas, ${DELAY_MS} ms apart`,
      tenants: TENANTS,
      usersPerTenant: USERS_PER_TENANT,
      loadAverageBefore: loadBefore,
    };
    if (minutes === undefined) {
      const result = await load(setup);
      failed = !result.allCompleted || !result.usageRowsCheck.ok;
      const summary = {
        benchmark: 'load',
        ...common,
        finishedAt: new Date().toISOString(),
        loadAverageAfter: loadAverage(),
        ...result,
        gatewayLogs: setup.gateway.logs,
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      process.stderr.write(
        [
          '',
          '| streams | sockets | completed | errors | duration | TTFT p50 / p99 | total p50 / p99 | peak open | peak RSS (VmHWM) | RSS before | CPU per stream |',
          '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
          `| ${result.streams} | ${result.sockets} | ${result.completed} | ${result.errors} | ${result.durationSeconds} s | ${result.ttft.p50Ms.toFixed(0)} / ${result.ttft.p99Ms.toFixed(0)} ms | ` +
            `${result.total.p50Ms.toFixed(0)} / ${result.total.p99Ms.toFixed(0)} ms | ${result.peakOpenStreamsGateway} | ${result.rssPeakSampledMiB} MiB (${result.vmHwmMiB}) | ` +
            `${result.rssBeforeMiB} MiB | ${result.cpuMsPerStream} ms |`,
          '',
        ].join('\n'),
      );
    } else {
      const result = await soak(setup, minutes);
      failed = result.errors > 0 || !result.usageRowsCheck.ok;
      const summary = {
        benchmark: 'soak',
        ...common,
        finishedAt: new Date().toISOString(),
        loadAverageAfter: loadAverage(),
        ...result,
        gatewayLogs: setup.gateway.logs,
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      const rows = result.samples.map(
        (s) =>
          `| ${s.t} | ${s.rssMiB} | ${s.heapUsedMiB} | ${s.heapTotalMiB} | ${s.streamsOpen} | ${s.completed} | ${s.errors} | ${s.windowTtftP50Ms} / ${s.windowTtftP99Ms} |`,
      );
      process.stderr.write(
        [
          '',
          '| t (s) | RSS MiB | heap used MiB | heap total MiB | open streams | completed | errors | TTFT p50 / p99 ms (window) |',
          '|---:|---:|---:|---:|---:|---:|---:|---:|',
          ...rows,
          '',
          `flat: ${result.flatness.flat} (RSS ${result.flatness.rss.firstThirdMedianMiB} → ${result.flatness.rss.lastThirdMedianMiB} MiB, ` +
            `heap ${result.flatness.heapUsed.firstThirdMedianMiB} → ${result.flatness.heapUsed.lastThirdMedianMiB} MiB; ${result.flatness.rule})`,
          '',
        ].join('\n'),
      );
    }
  } finally {
    await tearDown(setup);
  }
  if (failed) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
