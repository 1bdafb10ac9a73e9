/**
 * One replica or two: chat throughput, added time to first token and CPU per stream.
 *
 *   DATABASE_URL=postgres://… npm run bench:replicas   (npm run build && node dist/bench/replicas.js)
 *
 * Two real gateway processes (`node dist/src/main.js`, NODE_ENV=production) share one fresh
 * database on the PostgreSQL server in DATABASE_URL, one master key and one bootstrap token. The
 * local Anthropic Messages API server runs in a third process (bench/support/upstream-child.ts)
 * and streams BENCH_TOKENS (50) text deltas with no delay. Two round-robin TCP proxies
 * (test/support/round-robin-proxy.ts, in the bench process) stand in for the load balancer: one
 * with replica A only, one with A and B, so both modes pay the same extra hop.
 *
 * At each concurrency in BENCH_CONCURRENCY (1,64), BENCH_ROUNDS (2) rounds of each mode, in an
 * order that rotates per round so machine noise hits all three:
 * - direct: @anthropic-ai/sdk straight to the upstream (the baseline for "added" time);
 * - one: graphql-ws `chat` subscriptions through the proxy in front of A;
 * - two: the same through the proxy in front of A and B (sockets alternate between them).
 * One worker per concurrency slot, each with its own socket, chats back to back for
 * BENCH_ROUND_SECONDS (5). Per replica: utime+stime from /proc/<pid>/stat before and after each
 * round, divided by the streams that replica served, and its VmRSS at the end.
 *
 * Global admission: with BENCH_REDIS_URL set, everything runs twice, once without and once with
 * KEYWARD_REDIS_URL=$BENCH_REDIS_URL in the gateways' environment, to compare the PostgreSQL and
 * Redis stores of the global stream caps. A build whose src/config.ts does not know
 * KEYWARD_REDIS_URL ignores it (both runs are then the same gateway).
 *
 * Prints one JSON summary on stdout; progress and a markdown table on stderr. Needs DATABASE_URL
 * (PGlite belongs to one process); without it, says so and exits 0 so `npm run bench` goes on.
 * Other knobs: BENCH_TENANTS (8), BENCH_USERS_PER_TENANT (2).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Client } from 'graphql-ws';
import { generateBearerToken } from '../src/auth/bearer-token';
import { startRoundRobinProxy, type RoundRobinProxy } from '../test/support/round-robin-proxy';
import {
  chatInput,
  connectWs,
  createBenchUsers,
  directChat,
  directClient,
  gatewayChat,
  type BenchUser,
  type ChatTiming,
  type DirectClient,
} from './support/chat-clients';
import { benchDatabase, startGatewayChild, type GatewayChild } from './support/gateway-child';
import { startUpstreamProcess } from './support/upstream-process';
import {
  commandLine,
  concurrencyLevelsFromEnv,
  intFromEnv,
  loadAverage,
  machine,
  mib,
  numberFromEnv,
  percentiles,
  progress,
  round,
  type Percentiles,
} from './support/stats';

const LEVELS = concurrencyLevelsFromEnv('1,64');
const ROUNDS = intFromEnv('BENCH_ROUNDS', 2);
const ROUND_SECONDS = numberFromEnv('BENCH_ROUND_SECONDS', 5);
const TOKENS = intFromEnv('BENCH_TOKENS', 50);
const TENANTS = intFromEnv('BENCH_TENANTS', 8);
const USERS_PER_TENANT = intFromEnv('BENCH_USERS_PER_TENANT', 2);
const REDIS_URL = process.env.BENCH_REDIS_URL;
const STREAM_TIMEOUT_MS = 60_000;
const MODES = ['direct', 'one', 'two'] as const;
type Mode = (typeof MODES)[number];

const log = progress('replicas');

interface Worker {
  socket?: Client;
  /** Which replica (0: A, 1: B) the proxy sent the socket to. */
  replica: number;
  user: BenchUser;
}

interface RoundResult {
  streams: number;
  errors: string[];
  seconds: number;
  ttft: number[];
  /** Streams served and CPU seconds used, per replica (A, B). */
  perReplica: Array<{ streams: number; cpuSeconds: number }>;
}

interface World {
  replicas: GatewayChild[];
  users: BenchUser[];
  direct: Map<number, DirectClient>;
  proxies: Record<'one' | 'two', RoundRobinProxy>;
}

async function openWorkers(world: World, mode: 'one' | 'two', count: number): Promise<Worker[]> {
  const proxy = world.proxies[mode];
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) {
    const user = world.users[i % world.users.length];
    const connection = proxy.assignments.length;
    const socket = await connectWs(`ws://127.0.0.1:${proxy.port}/graphql`, user.token);
    workers.push({ socket, replica: mode === 'one' ? 0 : proxy.assignments[connection], user });
  }
  return workers;
}

async function runRound(world: World, mode: Mode, workers: Worker[]): Promise<RoundResult> {
  const result: RoundResult = {
    streams: 0,
    errors: [],
    seconds: 0,
    ttft: [],
    perReplica: world.replicas.map(() => ({ streams: 0, cpuSeconds: 0 })),
  };
  const cpuBefore = world.replicas.map((replica) => replica.proc().cpuSeconds);
  const begin = performance.now();
  const deadline = begin + ROUND_SECONDS * 1000;
  await Promise.all(
    workers.map(async (worker) => {
      while (performance.now() < deadline) {
        const timing: ChatTiming =
          mode === 'direct'
            ? await directChat(world.direct.get(worker.user.tenantIndex)!, STREAM_TIMEOUT_MS)
            : await gatewayChat(worker.socket!, chatInput('anthropic'), STREAM_TIMEOUT_MS).done;
        if (!timing.ok || timing.deltas !== TOKENS) {
          result.errors.push(timing.error ?? `DELTAS_${timing.deltas}`);
          continue;
        }
        result.streams++;
        result.ttft.push(timing.ttftMs!);
        if (mode !== 'direct') result.perReplica[worker.replica].streams++;
      }
    }),
  );
  result.seconds = (performance.now() - begin) / 1000;
  world.replicas.forEach((replica, index) => {
    result.perReplica[index].cpuSeconds = replica.proc().cpuSeconds - cpuBefore[index];
  });
  return result;
}

interface ModeSummary {
  streams: number;
  errors: number;
  errorCodes: Record<string, number>;
  streamsPerSecond: number;
  ttft: Percentiles;
  /** Gateway modes: p50/p99 time to first token minus the direct mode's at the same concurrency. */
  addedTtftP50Ms?: number;
  addedTtftP99Ms?: number;
  /** Gateway modes, per replica (A, B): streams served, CPU ms per stream, share of a core over the rounds. */
  replicas?: Array<{ streams: number; cpuMsPerStream: number | null; cores: number }>;
}

function summarize(mode: Mode, rounds: RoundResult[]): ModeSummary {
  const streams = rounds.reduce((sum, r) => sum + r.streams, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const errorCodes: Record<string, number> = {};
  for (const code of rounds.flatMap((r) => r.errors)) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
  const summary: ModeSummary = {
    streams,
    errors: rounds.reduce((sum, r) => sum + r.errors.length, 0),
    errorCodes,
    streamsPerSecond: round(streams / seconds, 1),
    ttft: percentiles(rounds.flatMap((r) => r.ttft)),
  };
  if (mode !== 'direct') {
    summary.replicas = rounds[0].perReplica.map((_, index) => {
      const served = rounds.reduce((sum, r) => sum + r.perReplica[index].streams, 0);
      const cpu = rounds.reduce((sum, r) => sum + r.perReplica[index].cpuSeconds, 0);
      return {
        streams: served,
        cpuMsPerStream: served > 0 ? round((cpu * 1000) / served, 2) : null,
        cores: round(cpu / seconds, 2),
      };
    });
  }
  return summary;
}

async function measureVariant(redisUrl: string | undefined, baseURL: string) {
  const database = await benchDatabase();
  if (!database.env.DATABASE_URL) throw new Error('replicas need a PostgreSQL server');
  const shared = { database, masterKey: randomBytes(32).toString('base64'), platformToken: generateBearerToken() };
  const env: Record<string, string> = redisUrl ? { KEYWARD_REDIS_URL: redisUrl } : {};
  const replicas: GatewayChild[] = [];
  const sockets: Client[] = [];
  const proxies: RoundRobinProxy[] = [];
  try {
    // A first: it migrates and bootstraps; B then finds both done.
    replicas.push(await startGatewayChild({ upstreamBaseUrl: baseURL, env, shared }));
    replicas.push(await startGatewayChild({ upstreamBaseUrl: baseURL, env, shared }));
    const portOf = (replica: GatewayChild) => Number(new URL(replica.base).port);
    const one = await startRoundRobinProxy([portOf(replicas[0])]);
    const two = await startRoundRobinProxy(replicas.map(portOf));
    proxies.push(one, two);
    log(
      `KEYWARD_REDIS_URL ${redisUrl ? 'set' : 'unset'}: replicas A pid ${replicas[0].pid}, B pid ${replicas[1].pid}; proxies ${one.url} (A), ${two.url} (A, B)`,
    );
    const users = await createBenchUsers(replicas[0].url, shared.platformToken, TENANTS, USERS_PER_TENANT);
    const direct = new Map<number, DirectClient>();
    for (const user of users) {
      if (!direct.has(user.tenantIndex)) direct.set(user.tenantIndex, directClient('anthropic', baseURL, user.apiKey));
    }
    const world: World = { replicas, users, direct, proxies: { one, two } };

    const levels: Record<string, Record<Mode, ModeSummary>> = {};
    for (const level of LEVELS) {
      const workers: Record<Mode, Worker[]> = {
        direct: users.length
          ? Array.from({ length: level }, (_, i) => ({ replica: 0, user: users[i % users.length] }))
          : [],
        one: await openWorkers(world, 'one', level),
        two: await openWorkers(world, 'two', level),
      };
      for (const mode of ['one', 'two'] as const) sockets.push(...workers[mode].map((worker) => worker.socket!));
      // Warm-up: JIT, pools, caches (principals, policies, data keys) on both replicas.
      for (const mode of MODES) await runRoundFor(world, mode, workers[mode], 1);
      const rounds: Record<Mode, RoundResult[]> = { direct: [], one: [], two: [] };
      for (let r = 0; r < ROUNDS; r++) {
        const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]);
        for (const mode of order) {
          rounds[mode].push(await runRound(world, mode, workers[mode]));
          log(`c=${level} round ${r + 1}/${ROUNDS} ${mode}: ${rounds[mode].at(-1)!.streams} streams`);
        }
      }
      const summaries = {
        direct: summarize('direct', rounds.direct),
        one: summarize('one', rounds.one),
        two: summarize('two', rounds.two),
      };
      for (const mode of ['one', 'two'] as const) {
        summaries[mode].addedTtftP50Ms = round(summaries[mode].ttft.p50Ms - summaries.direct.ttft.p50Ms, 3);
        summaries[mode].addedTtftP99Ms = round(summaries[mode].ttft.p99Ms - summaries.direct.ttft.p99Ms, 3);
      }
      levels[`c${level}`] = summaries;
    }
    const rss = replicas.map((replica) => mib(replica.proc().rss));
    const logs = replicas.map((replica) => replica.logs);
    return { keywardRedisUrl: redisUrl ? 'set' : 'unset', levels, rssMiB: rss, gatewayLogs: logs };
  } finally {
    for (const socket of sockets) await Promise.resolve(socket.dispose()).catch(() => undefined);
    for (const proxy of proxies) await proxy.close();
    for (const replica of replicas) await replica.stop();
    await database.cleanup();
  }
}

/** A short round (warm-up) of `seconds`. */
async function runRoundFor(world: World, mode: Mode, workers: Worker[], seconds: number): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    workers.map(async (worker) => {
      while (performance.now() < deadline) {
        if (mode === 'direct') await directChat(world.direct.get(worker.user.tenantIndex)!, STREAM_TIMEOUT_MS);
        else await gatewayChat(worker.socket!, chatInput('anthropic'), STREAM_TIMEOUT_MS).done;
      }
    }),
  );
}

function table(variant: Awaited<ReturnType<typeof measureVariant>>): string {
  const lines = [
    `KEYWARD_REDIS_URL ${variant.keywardRedisUrl}; RSS at the end: A ${variant.rssMiB[0]} MiB, B ${variant.rssMiB[1]} MiB`,
    '',
    '| c | mode | streams/s | TTFT p50 / p99 (ms) | added TTFT p50 / p99 (ms) | A: streams, CPU ms/stream | B: streams, CPU ms/stream | errors |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [level, modes] of Object.entries(variant.levels)) {
    for (const mode of MODES) {
      const s = modes[mode];
      const replica = (index: number) => {
        const r = s.replicas?.[index];
        return r ? `${r.streams}, ${r.cpuMsPerStream ?? '–'}` : '–';
      };
      lines.push(
        `| ${level.slice(1)} | ${mode} | ${s.streamsPerSecond} | ${s.ttft.p50Ms} / ${s.ttft.p99Ms} | ${
          s.addedTtftP50Ms === undefined ? '–' : `${s.addedTtftP50Ms} / ${s.addedTtftP99Ms}`
        } | ${replica(0)} | ${replica(1)} | ${s.errors} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!process.env.DATABASE_URL) {
    log('skipped: two replicas need one PostgreSQL server; set DATABASE_URL (PGlite belongs to one process)');
    return;
  }
  const startedAt = new Date().toISOString();
  const loadBefore = loadAverage();
  const upstream = await startUpstreamProcess('anthropic', TOKENS);
  log(`upstream child pid ${upstream.child.pid} on ${upstream.baseURL}: ${TOKENS} text deltas, no delay`);
  const variants = [];
  let failed = false;
  try {
    for (const redisUrl of REDIS_URL ? [undefined, REDIS_URL] : [undefined]) {
      const variant = await measureVariant(redisUrl, upstream.baseURL);
      variants.push(variant);
      process.stderr.write(`\n${table(variant)}\n`);
      failed ||= Object.values(variant.levels).some((modes) => MODES.some((mode) => modes[mode].errors > 0));
    }
  } finally {
    await upstream.stop();
  }
  process.stdout.write(
    `${JSON.stringify(
      {
        bench: 'replicas',
        command: commandLine(),
        startedAt,
        machine: machine(),
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadAverage(),
        settings: { levels: LEVELS, rounds: ROUNDS, roundSeconds: ROUND_SECONDS, tokens: TOKENS, tenants: TENANTS },
        variants,
      },
      null,
      2,
    )}\n`,
  );
  process.exitCode = failed ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
