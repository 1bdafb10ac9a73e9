import { setTimeout as sleep } from 'node:timers/promises';
import { AUTO_RETRIED_CODES } from '../common/codes';
import { UpstreamFailure } from '../providers/provider-stream';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 8_000 };

/** Only the catalogue's auto-retried codes (rate-limited, overloaded) are retried, and only before the first token. */
export const isRetriable = (error: unknown): error is UpstreamFailure =>
  error instanceof UpstreamFailure && AUTO_RETRIED_CODES.has(error.code);

/** Exponential backoff with full jitter, or the upstream's retry-after when it gave one (capped). */
export function retryDelayMs(policy: RetryPolicy, attempt: number, failure: UpstreamFailure): number {
  if (failure.retryAfterMs !== undefined) return Math.min(failure.retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Waits, but wakes as soon as `signal` aborts; returns false if it did. */
export async function backoff(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Whether to try again after `attempt` failed with `error`: a retriable answer, before the first token, with attempts left. */
export const shouldRetry = (
  policy: RetryPolicy,
  attempt: number,
  error: unknown,
  afterFirstToken: boolean,
): error is UpstreamFailure => !afterFirstToken && attempt < policy.maxAttempts && isRetriable(error);
