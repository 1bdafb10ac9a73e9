import { performance } from 'node:perf_hooks';
import { ChatFailedCode } from '../common/codes';
import { ErrorCode, isKeywardError } from '../common/errors';
import type { Logger } from '../common/logger';
import { UpstreamFailure, type ChatProvider, type ProviderEvent, type ProviderKey } from '../providers/provider-stream';
import { worstCaseInputTokens } from '../limits/worst-case-input';
import type { ModelCatalog } from '../catalog/model-catalog';
import { chatDelta, chatFailed, chatToolCall, type ChatEventPayload } from './chat-event.type';
import { asChatFailure, billedOutputTokens, classifyRun, finalEvent, type RunVerdict } from './chat-outcome';
import type { ChatPlan, StartedChat } from './chat-plan';
import { HeldUpstreamCall } from './held-upstream-call';
import type { ChatProviders } from './chat-providers';
import type { ChatOutcome, ChatRecorder, StepRecord } from './chat-recorder';
import type { EventChannel } from './event-channel';
import { backoff, DEFAULT_RETRY_POLICY, retryDelayMs, shouldRetry, type RetryPolicy } from './upstream-retry';
import type { ProviderRequest, ProviderToolCall } from '../providers/provider-stream';
import { ToolLoop, type Continuation, type ReservationResize } from './tool-loop';
import type { ToolStep } from './pending-tool-calls';

/** Observes each finished chat (metrics, audit); must not throw. */
export type ChatObserver = (plan: StartedChat, outcome: ChatOutcome) => void;

export type { ReservationResize } from './tool-loop';

/**
 * Runs a planned chat against the provider and feeds the channel: deltas and tool calls as they
 * come, then ChatCompleted or ChatFailed. A reply that ends in tool calls is one step of a loop
 * (ToolLoop): once the client has answered them, the next model call goes out with the same
 * model and key. Whatever happens (completion, failure, cancellation), every step's reply and
 * usage are recorded before the channel ends; ChatCompleted's usage is their sum.
 */
export class ChatRunner {
  constructor(
    private readonly providers: ChatProviders,
    private readonly recorder: ChatRecorder,
    private readonly catalog: ModelCatalog,
    private readonly log: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly observers: ChatObserver[] = [],
    private readonly resizeReservation?: ReservationResize,
    private readonly tools?: ToolLoop,
  ) {}

  /**
   * Starts building the chat's first provider call before it is admitted (HeldUpstreamCall): to
   * be handed to `run`, or discarded if the chat is refused.
   */
  hold(plan: ChatPlan): HeldUpstreamCall {
    return new HeldUpstreamCall(this.providers.get(plan.model.provider), providerKey(plan), plan.request);
  }

  /**
   * Resolves once the channel has ended: true when the chat's end was recorded (and with it its
   * reservations and `plan.leaseId` released), false when that write failed (logged). `held`
   * (from `hold`) is used for the first call.
   */
  async run(plan: StartedChat, channel: EventChannel<ChatEventPayload>, held?: HeldUpstreamCall): Promise<boolean> {
    plan.turnWrite.saved.catch((error: unknown) =>
      this.log.error(
        { requestId: plan.requestId, err: error },
        'AUDIT APPEND FAILED: could not save the conversation turn and its credential.use event',
      ),
    );
    const total = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    let request: ProviderRequest = plan.request;
    for (let step = 1; ; step++) {
      const chat: StartedChat = step === 1 ? plan : { ...plan, request };
      const startedAt = performance.now();
      const reply = new ReplySoFar();
      const failure = await this.stream(chat, channel, reply, step === 1 ? held : undefined);
      const verdict = classifyRun({
        failure,
        stopReason: reply.stopReason,
        interrupted: channel.wasInterrupted,
        interruption: channel.interruption,
        aborted: channel.signal.aborted,
      });
      const outcome = this.outcome(chat, reply, verdict, startedAt);
      total.inputTokens += outcome.inputTokens;
      total.outputTokens += outcome.outputTokens;
      total.costUsd += outcome.costUsd;
      const toolStep = verdict.status === 'completed' ? reply.toolStep : null;
      if (!toolStep) reply.toolStep?.close();
      const final = !toolStep || !this.tools;
      const recorded = await this.record(chat, outcome, { step, toolCalls: toolStep ? reply.toolCalls : null, final });
      if (final) {
        const last = finalEvent(verdict, reply.stopReason, total);
        if (last) channel.push(last);
        channel.end();
        return recorded;
      }
      const next = await this.tools
        .afterToolCalls(chat, step, request, { ...reply, toolStep }, channel)
        .catch((error: unknown): Continuation => {
          // The client's results could not be stored (the database), or the step failed otherwise:
          // the chat ends with ChatFailed rather than waiting forever.
          this.log.error({ requestId: plan.requestId, err: error }, 'the tool step failed');
          return { kind: 'end', failure: asChatFailure(error) };
        });
      if (next.kind === 'end') {
        const released = await this.recorder.release(plan).then(
          () => true,
          (error: unknown) => {
            this.log.error({ requestId: plan.requestId, err: error }, 'could not release the reservations');
            return false;
          },
        );
        if (next.failure) channel.push(chatFailed(next.failure.code, next.failure.message, next.failure.retryable));
        channel.end();
        return released;
      }
      request = next.request;
    }
  }

  /** Streams the reply into `reply` and the channel; the failure it ended with, or null. */
  private async stream(
    plan: StartedChat,
    channel: EventChannel<ChatEventPayload>,
    reply: ReplySoFar,
    held: HeldUpstreamCall | undefined,
  ): Promise<UpstreamFailure | null> {
    try {
      await this.streamWithRetries(this.providers.get(plan.model.provider), plan, channel, reply, held);
      return null;
    } catch (error) {
      if (error instanceof UpstreamFailure) {
        const { code, status, networkCode } = error;
        const afterFirstToken = reply.firstTokenAt !== null;
        this.log.warn({ requestId: plan.requestId, code, status, networkCode, afterFirstToken }, 'upstream failed');
      } else {
        this.log.error({ requestId: plan.requestId, err: error }, 'chat failed');
      }
      return asChatFailure(error);
    }
  }

  /** Calls the provider until it streams to the end, retrying busy answers before the first token; throws the last failure. */
  private async streamWithRetries(
    provider: ChatProvider,
    plan: StartedChat,
    channel: EventChannel<ChatEventPayload>,
    reply: ReplySoFar,
    held: HeldUpstreamCall | undefined,
  ): Promise<void> {
    const emit = (event: ProviderEvent) => this.receive(plan, channel, reply, event);
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt === 1 && held) await held.release(channel.signal, emit);
        else await provider.stream(providerKey(plan), plan.request, channel.signal, emit);
        return;
      } catch (error) {
        if (!shouldRetry(this.retry, attempt, error, reply.firstTokenAt !== null)) throw error;
        this.log.warn({ requestId: plan.requestId, code: error.code, attempt }, 'upstream busy: retrying');
        // Aborted while waiting: the channel's state says why (cancelled or stopped).
        if (!(await backoff(retryDelayMs(this.retry, attempt, error), channel.signal))) return;
      }
    }
  }

  private receive(
    plan: StartedChat,
    channel: EventChannel<ChatEventPayload>,
    reply: ReplySoFar,
    event: ProviderEvent,
  ): void {
    switch (event.type) {
      case 'start':
        reply.answerStarted = true;
        // Only a provider that counts the input at the start (Anthropic) lets the reservation be
        // corrected before the end; otherwise the planner's worst case stands until the usage is recorded.
        if (event.inputTokens !== null) {
          reply.inputTokens = event.inputTokens;
          this.correctReservation(plan, event.inputTokens, channel);
        }
        return;
      case 'delta':
        reply.firstTokenAt ??= performance.now();
        reply.text += event.text;
        reply.deltas++;
        channel.push(chatDelta(event.text));
        return;
      case 'tool_call':
        if (!this.tools) return; // a provider never calls tools it was not given
        reply.toolStep ??= this.tools.open(plan);
        ToolLoop.add(reply.toolStep, event.call);
        reply.toolCalls.push(event.call);
        channel.push(chatToolCall({ id: event.call.id, name: event.call.name, input: event.call.input }));
        return;
      case 'done':
        reply.inputTokens = event.inputTokens;
        reply.outputTokens = event.outputTokens;
        reply.stopReason = event.stopReason;
        return;
    }
  }

  private outcome(plan: StartedChat, reply: ReplySoFar, verdict: RunVerdict, startedAt: number): ChatOutcome {
    const outputTokens = billedOutputTokens(verdict.status, reply.outputTokens, reply.deltas);
    const inputTokens = billedInputTokens(plan, reply);
    return {
      status: verdict.status,
      text: reply.text,
      inputTokens,
      outputTokens,
      costUsd: this.catalog.costUsd(plan.model, inputTokens, outputTokens),
      ttftMs: reply.firstTokenAt === null ? null : Math.round(reply.firstTokenAt - startedAt),
      totalMs: Math.round(performance.now() - startedAt),
      errorCode: verdict.failure?.code ?? null,
    };
  }

  /** Writes the turn (if not yet), the step's reply and its usage, then tells the observers; false if the write failed. */
  private async record(plan: StartedChat, outcome: ChatOutcome, step: StepRecord): Promise<boolean> {
    let recorded = true;
    try {
      await this.recorder.recordOutcome(plan, outcome, step);
    } catch (error) {
      recorded = false;
      this.log.error({ requestId: plan.requestId, err: error }, 'could not record chat usage');
    }
    for (const observe of this.observers) observe(plan, outcome);
    return recorded;
  }

  /**
   * Once the provider has counted the input, the reservation becomes what the request can still
   * cost at most: the real input plus every output token allowed. Runs beside the stream (the
   * first token never waits for it); a budget that cannot cover it stops the request.
   */
  private correctReservation(plan: StartedChat, inputTokens: number, channel: EventChannel<ChatEventPayload>): void {
    if (!plan.reservationId || !this.resizeReservation) return;
    const worstCaseUsd = this.catalog.costUsd(plan.model, inputTokens, plan.request.maxTokens);
    this.resizeReservation(plan, worstCaseUsd).catch((error: unknown) => {
      if (isKeywardError(error) && error.code === ErrorCode.BUDGET_EXCEEDED) {
        channel.interrupt({ code: ChatFailedCode.BUDGET_EXCEEDED, message: error.message });
      } else {
        this.log.error({ requestId: plan.requestId, err: error }, 'could not correct the budget reservation');
      }
    });
  }
}

/** What the provider has sent so far. */
class ReplySoFar {
  text = '';
  deltas = 0;
  /** performance.now() of the first delta. */
  firstTokenAt: number | null = null;
  /** The provider answered (HTTP 200): from here on it bills the input. */
  answerStarted = false;
  /** The provider's count; null until it reports one (OpenAI reports it only in its last chunk). */
  inputTokens: number | null = null;
  outputTokens = 0;
  stopReason: string | null = null;
  /** Complete tool calls, in the order the provider finished them. */
  toolCalls: ProviderToolCall[] = [];
  /** Their wait for results, open from the first call on (results may come before the reply ends). */
  toolStep: ToolStep | null = null;
}

/**
 * The provider's input count when it sent one. A stream that started but ended without it (an
 * OpenAI-compatible stream cancelled or cut before its usage chunk) is billed the planner's upper
 * bound (worstCaseInputTokens: the UTF-8 bytes of everything sent plus the framing allowance), so a
 * budget never counts less than was spent; a request refused before its answer started cost nothing.
 */
function billedInputTokens(plan: StartedChat, reply: ReplySoFar): number {
  if (reply.inputTokens !== null) return reply.inputTokens;
  return reply.answerStarted ? worstCaseInputTokens(plan.request) : 0;
}

/** The key a chat's calls go out with, and the identity of the SDK client that holds it. */
function providerKey(plan: ChatPlan): ProviderKey {
  const identity = plan.key.credentialId ? `${plan.key.credentialId}:${plan.key.dataKeyVersion}` : 'platform';
  return { identity, apiKey: plan.key.apiKey };
}
