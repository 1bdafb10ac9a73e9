import {
  DEFAULT_RETRY_POLICY,
  isRetriable,
  retryDelayMs,
  shouldRetry,
  type RetryPolicy,
} from '../../../src/chat/upstream-retry';
import type { ChatFailedCode } from '../../../src/common/codes';
import { UpstreamFailure } from '../../../src/providers/provider-stream';

const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 8_000 };
const failure = (code: ChatFailedCode, retryAfterMs?: number) => new UpstreamFailure(code, 'x', { retryAfterMs });

describe('isRetriable', () => {
  test.each<ChatFailedCode>(['UPSTREAM_RATE_LIMITED', 'UPSTREAM_OVERLOADED'])('%s is retried', (code) => {
    expect(isRetriable(failure(code))).toBe(true);
  });

  test.each<ChatFailedCode>([
    'INVALID_PROVIDER_KEY',
    'UPSTREAM_BAD_REQUEST',
    'UPSTREAM_ERROR',
    'UPSTREAM_UNREACHABLE',
    'SHUTTING_DOWN',
  ])('%s is not retried', (code) => {
    expect(isRetriable(failure(code))).toBe(false);
  });

  test('anything but an UpstreamFailure is not retried', () => {
    expect(isRetriable(new Error('UPSTREAM_RATE_LIMITED'))).toBe(false);
    expect(isRetriable({ code: 'UPSTREAM_RATE_LIMITED' })).toBe(false);
  });
});

describe('retryDelayMs', () => {
  test("the upstream's retry-after wins, capped at the policy's maximum", () => {
    expect(retryDelayMs(policy, 1, failure('UPSTREAM_RATE_LIMITED', 1_234))).toBe(1_234);
    expect(retryDelayMs(policy, 1, failure('UPSTREAM_RATE_LIMITED', 60_000))).toBe(8_000);
    expect(retryDelayMs(policy, 3, failure('UPSTREAM_RATE_LIMITED', 0))).toBe(0);
  });

  test('without retry-after: exponential, with jitter in the upper half of the ceiling', () => {
    for (const [attempt, ceiling] of [
      [1, 500],
      [2, 1_000],
      [3, 2_000],
      [5, 8_000],
      [9, 8_000],
    ]) {
      for (let i = 0; i < 50; i++) {
        const delay = retryDelayMs(policy, attempt, failure('UPSTREAM_OVERLOADED'));
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  test('the default policy makes three attempts', () => {
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(3);
  });
});

describe('shouldRetry', () => {
  const busy = failure('UPSTREAM_OVERLOADED');

  test('a retriable failure before the first token, with attempts left, is retried', () => {
    expect(shouldRetry(policy, 1, busy, false)).toBe(true);
    expect(shouldRetry(policy, 2, failure('UPSTREAM_RATE_LIMITED'), false)).toBe(true);
  });

  test('never after the first token: the client already has part of the reply', () => {
    expect(shouldRetry(policy, 1, busy, true)).toBe(false);
  });

  test('never once the attempts are used up', () => {
    expect(shouldRetry(policy, policy.maxAttempts, busy, false)).toBe(false);
    expect(shouldRetry({ ...policy, maxAttempts: 1 }, 1, busy, false)).toBe(false);
  });

  test('never for a failure that is not retriable', () => {
    expect(shouldRetry(policy, 1, failure('INVALID_PROVIDER_KEY'), false)).toBe(false);
    expect(shouldRetry(policy, 1, new Error('boom'), false)).toBe(false);
  });
});
