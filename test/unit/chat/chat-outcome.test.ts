import 'reflect-metadata';
import {
  asChatFailure,
  billedOutputTokens,
  classifyRun,
  finalEvent,
  interruptionFailure,
  type StreamEnd,
} from '../../../src/chat/chat-outcome';
import { ChatCompleted, ChatFailed } from '../../../src/chat/chat-event.type';
import type { InterruptReason } from '../../../src/chat/event-channel';
import { UpstreamFailure } from '../../../src/providers/provider-stream';

const upstream = new UpstreamFailure('UPSTREAM_OVERLOADED', 'Anthropic is overloaded', { status: 529 });
const budget: InterruptReason = { code: 'BUDGET_EXCEEDED', message: 'over budget' };
const end = (overrides: Partial<StreamEnd>): StreamEnd => ({
  failure: null,
  stopReason: null,
  interrupted: false,
  interruption: null,
  aborted: false,
  ...overrides,
});

describe('classifyRun', () => {
  test.each<[string, Partial<StreamEnd>, string, string | null]>([
    ['finished', { stopReason: 'end_turn' }, 'completed', null],
    ['finished with a null stop reason and nothing else happening', {}, 'completed', null],
    ['upstream failed', { failure: upstream }, 'failed', 'UPSTREAM_OVERLOADED'],
    ['client went away before the end', { aborted: true }, 'cancelled', null],
    [
      'server stopped it with a reason',
      { interrupted: true, interruption: budget, aborted: true },
      'failed',
      'BUDGET_EXCEEDED',
    ],
    ['server stopped it for a shutdown', { interrupted: true, aborted: true }, 'failed', 'SHUTTING_DOWN'],
    ['finished before the client went away', { stopReason: 'end_turn', aborted: true }, 'completed', null],
    [
      'finished before the server stopped it',
      { stopReason: 'max_tokens', interrupted: true, interruption: budget, aborted: true },
      'completed',
      null,
    ],
    [
      'upstream failed, then the server stopped it',
      { failure: upstream, interrupted: true, interruption: budget, aborted: true },
      'failed',
      'UPSTREAM_OVERLOADED',
    ],
    [
      'upstream failed, then the client went away',
      { failure: upstream, aborted: true },
      'failed',
      'UPSTREAM_OVERLOADED',
    ],
  ])('%s: %s', (_, overrides, status, code) => {
    const verdict = classifyRun(end(overrides));
    expect(verdict.status).toBe(status);
    expect(verdict.failure?.code ?? null).toBe(code);
  });

  test("the upstream's failure is passed on as it is", () => {
    expect(classifyRun(end({ failure: upstream })).failure).toBe(upstream);
  });
});

describe('interruptionFailure', () => {
  test("carries the stop's code and message, and the code's retryable flag from the catalogue", () => {
    expect(interruptionFailure(budget)).toMatchObject({ ...budget, retryable: false });
    expect(interruptionFailure({ code: 'CREDENTIAL_DELETED', message: 'gone' })).toMatchObject({
      code: 'CREDENTIAL_DELETED',
      message: 'gone',
      retryable: false,
    });
  });

  test('without a reason it is a shutdown, worth retrying', () => {
    expect(interruptionFailure(null)).toMatchObject({
      code: 'SHUTTING_DOWN',
      message: 'The gateway is restarting; retry the request',
      retryable: true,
    });
  });
});

describe('asChatFailure', () => {
  test('a classified failure stays as it is', () => {
    expect(asChatFailure(upstream)).toBe(upstream);
  });

  test.each([new Error('socket hang up: sk-ant-secret'), 'a string', undefined])(
    'anything else is a retryable UPSTREAM_ERROR that says nothing of it (%p)',
    (error) => {
      const failure = asChatFailure(error);
      expect(failure).toBeInstanceOf(UpstreamFailure);
      expect(failure).toMatchObject({ code: 'UPSTREAM_ERROR', message: 'The chat failed', retryable: true });
    },
  );
});

describe('billedOutputTokens', () => {
  test("a completed chat bills the provider's count", () => {
    expect(billedOutputTokens('completed', 12, 30)).toBe(12);
  });

  test.each(['failed', 'cancelled'] as const)('a %s chat bills at least one token per delta received', (status) => {
    expect(billedOutputTokens(status, 0, 7)).toBe(7);
    expect(billedOutputTokens(status, 9, 7)).toBe(9);
  });
});

describe('finalEvent', () => {
  const usage = { inputTokens: 10, outputTokens: 5, costUsd: 0.001 };

  test('completed: ChatCompleted with the stop reason and usage', () => {
    const event = finalEvent({ status: 'completed', failure: null }, 'end_turn', usage);
    expect(event).toBeInstanceOf(ChatCompleted);
    expect(event).toMatchObject({ stopReason: 'end_turn', usage });
  });

  test('failed: ChatFailed with the failure code, message and retryable flag', () => {
    const event = finalEvent({ status: 'failed', failure: upstream }, null, usage);
    expect(event).toBeInstanceOf(ChatFailed);
    expect(event).toEqual(
      Object.assign(new ChatFailed(), {
        code: 'UPSTREAM_OVERLOADED',
        message: 'Anthropic is overloaded',
        retryable: true,
      }),
    );
  });

  test('cancelled: nothing (the client is gone)', () => {
    expect(finalEvent({ status: 'cancelled', failure: null }, null, usage)).toBeNull();
  });
});
