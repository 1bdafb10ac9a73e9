/** Percentiles, the machine description and small helpers shared by the chat benches. */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';

export interface Percentiles {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentiles of samples in milliseconds, rounded to `digits` decimals. */
export function percentiles(samplesMs: number[], digits = 3): Percentiles {
  if (samplesMs.length === 0) return { count: 0, p50Ms: NaN, p95Ms: NaN, p99Ms: NaN, meanMs: NaN, maxMs: NaN };
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  return {
    count: sorted.length,
    p50Ms: round(at(0.5), digits),
    p95Ms: round(at(0.95), digits),
    p99Ms: round(at(0.99), digits),
    meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length, digits),
    maxMs: round(sorted[sorted.length - 1], digits),
  };
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Least-squares slope of y over x. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

export { round };

export const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

/** What the numbers were measured on: nproc, CPU model, Node, load average, and the commit. */
export function machine() {
  let cpu = cpus()[0]?.model;
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  let commit: string | undefined;
  let dirty: boolean | undefined;
  try {
    const root = resolve(__dirname, '../../..');
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: root, encoding: 'utf8' }).trim() !== '';
  } catch {
    // not a checkout
  }
  let distBuiltAt: string | undefined;
  try {
    distBuiltAt = statSync(resolve(__dirname, '../../src/main.js')).mtime.toISOString();
  } catch {
    // not built
  }
  return {
    nproc: availableParallelism(),
    cpu,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage1m: round(loadavg()[0], 2),
    commit,
    srcHasUncommittedChanges: dirty,
    /** When dist/src/main.js was compiled: `npm test` and `npm run build` rebuild dist/ in place. */
    distBuiltAt,
  };
}

export const loadAverage = () => loadavg().map((value) => round(value, 2));

export const progress = (bench: string) => (message: string) => process.stderr.write(`[${bench}] ${message}\n`);

export function intFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** BENCH_CONCURRENCY: a comma-separated list of positive integers (e.g. `1,16,64`). */
export function concurrencyLevelsFromEnv(fallback: string): number[] {
  return (process.env.BENCH_CONCURRENCY ?? fallback).split(',').map((value) => {
    const level = Number(value);
    if (!Number.isInteger(level) || level <= 0) throw new Error('BENCH_CONCURRENCY must list positive integers');
    return level;
  });
}

export function numberFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

/** The exact command line this process was started with, for the record. */
export const commandLine = () =>
  [process.argv0 === 'node' ? 'node' : process.execPath, ...process.execArgv, ...process.argv.slice(1)]
    .map((part) => part.replace(process.cwd() + '/', ''))
    .join(' ');
