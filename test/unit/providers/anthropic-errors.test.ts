import Anthropic from '@anthropic-ai/sdk';
import { classifyAnthropicError, midStreamFailure } from '../../../src/providers/anthropic/anthropic-errors';

const apiError = (status: number, type?: string, headers: Record<string, string> = {}) =>
  Anthropic.APIError.generate(
    status,
    type ? { type: 'error', error: { type, message: 'm' } } : undefined,
    'm',
    new Headers(headers),
  );

describe('classifyAnthropicError', () => {
  test.each([
    [401, undefined, 'INVALID_PROVIDER_KEY', false],
    [403, undefined, 'INVALID_PROVIDER_KEY', false],
    [400, 'authentication_error', 'INVALID_PROVIDER_KEY', false],
    [429, undefined, 'UPSTREAM_RATE_LIMITED', true],
    [529, undefined, 'UPSTREAM_OVERLOADED', true],
    [500, 'overloaded_error', 'UPSTREAM_OVERLOADED', true],
    [400, undefined, 'UPSTREAM_BAD_REQUEST', false],
    [404, undefined, 'UPSTREAM_BAD_REQUEST', false],
    [413, undefined, 'UPSTREAM_BAD_REQUEST', false],
    [500, undefined, 'UPSTREAM_ERROR', true],
    [503, undefined, 'UPSTREAM_ERROR', true],
  ])('HTTP %s %s is %s (retryable %s)', (status, type, code, retryable) => {
    const failure = classifyAnthropicError(apiError(status, type));
    expect(failure).toMatchObject({ code, retryable, status });
  });

  test('retry-after in seconds or milliseconds, capped at 30 s', () => {
    expect(classifyAnthropicError(apiError(429, undefined, { 'retry-after': '2' })).retryAfterMs).toBe(2_000);
    expect(classifyAnthropicError(apiError(529, undefined, { 'retry-after-ms': '750' })).retryAfterMs).toBe(750);
    expect(classifyAnthropicError(apiError(429, undefined, { 'retry-after': '3600' })).retryAfterMs).toBe(30_000);
    expect(classifyAnthropicError(apiError(429, undefined, { 'retry-after': 'soon' })).retryAfterMs).toBeUndefined();
  });

  test('a connection error is UPSTREAM_UNREACHABLE with the network code, never the message', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443 sk-ant-secret'), { code: 'ECONNREFUSED' });
    const failure = classifyAnthropicError(new Anthropic.APIConnectionError({ message: 'fetch failed', cause }));
    expect(failure).toMatchObject({ code: 'UPSTREAM_UNREACHABLE', retryable: true, networkCode: 'ECONNREFUSED' });
    expect(failure.message).not.toContain('sk-ant');
  });

  test("messages are the gateway's own, never the provider's", () => {
    const failure = classifyAnthropicError(
      Anthropic.APIError.generate(
        400,
        { type: 'error', error: { type: 'invalid_request_error', message: 'echo sk-ant-x' } },
        'echo sk-ant-x',
        new Headers(),
      ),
    );
    expect(failure.message).not.toContain('sk-ant');
  });

  test('anything else is a retryable UPSTREAM_ERROR', () => {
    expect(classifyAnthropicError(new TypeError('boom'))).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
    expect(midStreamFailure()).toMatchObject({ code: 'UPSTREAM_ERROR', retryable: true });
  });
});
