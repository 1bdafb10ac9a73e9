/**
 * Upstream request micro-benchmark: what one streamed upstream call costs the gateway's process.
 *
 *   npm run bench:upstream   (npm run build && node dist/bench/upstream-request.js)
 *
 * For each format in BENCH_FORMATS (anthropic,openai), a local server of that API runs in a
 * process of its own (bench/support/upstream-child) and answers every request with a short stream
 * (BENCH_TOKENS text deltas, no delay). This process then makes BENCH_REQUESTS sequential calls per
 * round (concurrency 1), in rounds interleaved between two modes so machine noise hits both:
 *
 * - lean: the floor, a bare node:http client on a keep-alive agent sending the same request, the
 *   raw body scanned for delta markers (`leanDirectChat`, as in the chat-streaming bench);
 * - keyward: the gateway's provider as the chat service calls it (`AnthropicChat.stream` /
 *   `OpenAiChat.stream` over the cached SDK client, node-http-fetch and the SSE parser), one
 *   AbortController per call as a chat has.
 *
 * Per mode: CPU of this process per request (process.cpuUsage over a round, user + system, µs:
 * the median round, and the best, which other load on the machine disturbs least), wall time per
 * request, and the time to the first delta and to the end of each call. There is no
 * database, key resolution or GraphQL here: only the provider path, so its cost is not lost in the
 * rest of a chat. Prints one JSON summary on stdout; progress and a markdown table on stderr.
 * Knobs: BENCH_FORMATS, BENCH_TOKENS (3), BENCH_REQUESTS (500 per round), BENCH_ROUNDS (10 per
 * mode), BENCH_WARMUP (2000 per mode, not measured), BENCH_MODES (lean,keyward).
 */
import { performance } from 'node:perf_hooks';
import { AnthropicChat } from '../src/providers/anthropic/anthropic-chat';
import { AnthropicClients } from '../src/providers/anthropic/anthropic-clients';
import { OpenAiChat } from '../src/providers/openai/openai-chat';
import { OpenAiClients } from '../src/providers/openai/openai-clients';
import type { ChatProvider, ProviderKey, ProviderRequest } from '../src/providers/provider-stream';
import {
  BENCH_MAX_TOKENS,
  BENCH_MESSAGE,
  BENCH_MODELS,
  leanDirectChat,
  leanDirectClient,
  type BenchFormat,
  type ChatTiming,
  type LeanDirectClient,
} from './support/chat-clients';
import { commandLine, intFromEnv, loadAverage, machine, median, percentiles, progress, round } from './support/stats';
import { startUpstreamProcess } from './support/upstream-process';

const TOKENS = intFromEnv('BENCH_TOKENS', 3);
const REQUESTS = intFromEnv('BENCH_REQUESTS', 500);
const ROUNDS = intFromEnv('BENCH_ROUNDS', 10);
const WARMUP = intFromEnv('BENCH_WARMUP', 2000);
const FORMATS = (process.env.BENCH_FORMATS ?? 'anthropic,openai').split(',').map((format) => {
  if (format !== 'anthropic' && format !== 'openai') throw new Error('BENCH_FORMATS lists anthropic and/or openai');
  return format as BenchFormat;
});
const TIMEOUT_MS = 10_000;
const ALL_MODES = ['lean', 'keyward'] as const;
type Mode = (typeof ALL_MODES)[number];
/** One mode alone (BENCH_MODES=keyward) is for profiling it: `node --cpu-prof dist/bench/upstream-request.js`. */
const MODES = (process.env.BENCH_MODES ?? ALL_MODES.join(',')).split(',').map((mode) => {
  if (!(ALL_MODES as readonly string[]).includes(mode)) throw new Error('BENCH_MODES lists lean and/or keyward');
  return mode as Mode;
});

const log = progress('upstream-request');

/** The provider the gateway builds for `format` (src/app.ts), pointed at the local upstream. */
function keywardProvider(format: BenchFormat, baseURL: string): ChatProvider {
  return format === 'anthropic'
    ? new AnthropicChat(new AnthropicClients({ baseURL }))
    : new OpenAiChat(new OpenAiClients({ baseURL }), { name: 'OpenAI', maxTokensField: 'max_completion_tokens' });
}

const API_KEYS: Record<BenchFormat, string> = { anthropic: 'sk-ant-bench-upstream', openai: 'sk-proj-bench-upstream' };

/** One call through the provider, timed as leanDirectChat times its own. */
async function keywardChat(provider: ChatProvider, key: ProviderKey, request: ProviderRequest): Promise<ChatTiming> {
  const timing: ChatTiming = { ok: false, deltas: 0 };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const start = performance.now();
  try {
    await provider.stream(key, request, controller.signal, (event) => {
      if (event.type === 'delta') {
        const now = performance.now() - start;
        timing.ttftMs ??= now;
        timing.lastDeltaMs = now;
        timing.deltas++;
      } else if (event.type === 'done') {
        timing.totalMs = performance.now() - start;
        timing.ok = true;
      }
    });
    if (!timing.ok) timing.error = controller.signal.aborted ? 'TIMEOUT' : 'NO_COMPLETION';
  } catch (error) {
    timing.error = (error as { code?: string }).code ?? 'ERROR';
  } finally {
    clearTimeout(timer);
  }
  return timing;
}

interface Target {
  lean: LeanDirectClient;
  provider: ChatProvider;
  key: ProviderKey;
  request: ProviderRequest;
}

const call = (target: Target, mode: Mode): Promise<ChatTiming> =>
  mode === 'lean' ? leanDirectChat(target.lean, TIMEOUT_MS) : keywardChat(target.provider, target.key, target.request);

interface Round {
  cpuUsPerRequest: number;
  wallUsPerRequest: number;
  ttftMs: number[];
  totalMs: number[];
}

async function runRound(target: Target, mode: Mode, requests: number): Promise<Round> {
  const result: Round = { cpuUsPerRequest: 0, wallUsPerRequest: 0, ttftMs: [], totalMs: [] };
  const cpuBefore = process.cpuUsage();
  const begin = performance.now();
  for (let i = 0; i < requests; i++) {
    const timing = await call(target, mode);
    if (!timing.ok || timing.deltas !== TOKENS) {
      throw new Error(`${mode}: a call failed (${timing.error ?? `${timing.deltas} deltas`})`);
    }
    result.ttftMs.push(timing.ttftMs!);
    result.totalMs.push(timing.totalMs!);
  }
  const wallMs = performance.now() - begin;
  const cpu = process.cpuUsage(cpuBefore);
  result.cpuUsPerRequest = (cpu.user + cpu.system) / requests;
  result.wallUsPerRequest = (wallMs * 1000) / requests;
  return result;
}

interface ModeSummary {
  /** Median over rounds of the round's CPU per request, µs. */
  cpuUsPerRequest: number;
  /** The best round's. */
  cpuUsPerRequestMin: number;
  cpuUsPerRequestByRound: number[];
  wallUsPerRequest: number;
  ttft: ReturnType<typeof percentiles>;
  total: ReturnType<typeof percentiles>;
}

async function measureFormat(format: BenchFormat) {
  const upstream = await startUpstreamProcess(format, TOKENS);
  try {
    log(`${format}: upstream on ${upstream.baseURL}; ${TOKENS} text deltas per call`);
    const target: Target = {
      lean: leanDirectClient(format, upstream.baseURL, API_KEYS[format]),
      provider: keywardProvider(format, upstream.baseURL),
      key: { identity: 'bench:1', apiKey: API_KEYS[format] },
      request: {
        model: BENCH_MODELS[format],
        messages: [{ role: 'user', content: BENCH_MESSAGE }],
        maxTokens: BENCH_MAX_TOKENS,
      },
    };
    for (const mode of MODES) await runRound(target, mode, WARMUP);
    const rounds: Record<Mode, Round[]> = { lean: [], keyward: [] };
    for (let i = 0; i < ROUNDS; i++) {
      // ABBA order, so neither mode always runs first.
      for (const mode of i % 2 === 0 ? MODES : [...MODES].reverse()) {
        rounds[mode].push(await runRound(target, mode, REQUESTS));
      }
    }
    const summarize = (list: Round[]): ModeSummary => ({
      cpuUsPerRequest: round(median(list.map((r) => r.cpuUsPerRequest)), 1),
      cpuUsPerRequestMin: round(Math.min(...list.map((r) => r.cpuUsPerRequest)), 1),
      cpuUsPerRequestByRound: list.map((r) => round(r.cpuUsPerRequest, 1)),
      wallUsPerRequest: round(median(list.map((r) => r.wallUsPerRequest)), 1),
      ttft: percentiles(
        list.flatMap((r) => r.ttftMs),
        4,
      ),
      total: percentiles(
        list.flatMap((r) => r.totalMs),
        4,
      ),
    });
    const lean = MODES.includes('lean') ? summarize(rounds.lean) : undefined;
    const keyward = MODES.includes('keyward') ? summarize(rounds.keyward) : undefined;
    return {
      format,
      lean,
      keyward,
      keywardOverLean:
        lean && keyward
          ? {
              cpuUsPerRequest: round(keyward.cpuUsPerRequest - lean.cpuUsPerRequest, 1),
              wallUsPerRequest: round(keyward.wallUsPerRequest - lean.wallUsPerRequest, 1),
              ttftP50Us: round((keyward.ttft.p50Ms - lean.ttft.p50Ms) * 1000, 1),
            }
          : undefined,
    };
  } finally {
    await upstream.stop();
  }
}

function table(results: Awaited<ReturnType<typeof measureFormat>>[]): string {
  const us = (ms: number) => round(ms * 1000, 0);
  const lines = [
    '| format | mode | CPU µs/request, median (best) round | wall µs/request | first delta p50 / p95 µs | end p50 µs |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const result of results) {
    for (const mode of MODES) {
      const m = result[mode]!;
      lines.push(
        `| ${result.format} | ${mode} | ${m.cpuUsPerRequest} (${m.cpuUsPerRequestMin}) | ${m.wallUsPerRequest} | ${us(m.ttft.p50Ms)} / ${us(m.ttft.p95Ms)} | ${us(m.total.p50Ms)} |`,
      );
    }
    const d = result.keywardOverLean;
    if (d)
      lines.push(
        `| ${result.format} | keyward − lean | ${d.cpuUsPerRequest} | ${d.wallUsPerRequest} | ${d.ttftP50Us} | |`,
      );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadAverage();
  const results = [];
  for (const format of FORMATS) results.push(await measureFormat(format));
  const summary = {
    benchmark: 'upstream-request',
    command: commandLine(),
    startedAt,
    machine: machine(),
    settings: { tokens: TOKENS, requestsPerRound: REQUESTS, roundsPerMode: ROUNDS, warmupPerMode: WARMUP },
    loadAverage: { before: loadBefore, after: loadAverage() },
    results,
  };
  process.stderr.write(`\n${table(results)}\n\n`);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
