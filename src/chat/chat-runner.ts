import { performance } from 'node:perf_hooks';
import { ChatFailedCode } from '../common/codes';
import type { Logger } from '../common/logger';
import type { AnthropicClients } from '../providers/anthropic/anthropic-clients';
import { streamAnthropic } from '../providers/anthropic/anthropic-stream';
import { UpstreamFailure } from '../providers/provider-stream';
import type { ModelCatalog } from './model-catalog';
import { chatCompleted, chatDelta, chatFailed, type ChatEventPayload } from './chat-event.type';
import type { StartedChat } from './chat-plan';
import type { ChatOutcome, ChatRecorder } from './chat-recorder';
import type { EventChannel } from './event-channel';
import { backoff, DEFAULT_RETRY_POLICY, isRetriable, retryDelayMs, type RetryPolicy } from './upstream-retry';

/** Observes each finished chat (metrics, audit); must not throw. */
export type ChatObserver = (plan: StartedChat, outcome: ChatOutcome) => void;

/**
 * Runs a planned chat against the provider and feeds the channel: deltas as they come, then
 * ChatCompleted or ChatFailed. Whatever happens (completion, failure, cancellation), the reply
 * so far and its usage are recorded before the channel ends.
 */
export class ChatRunner {
  constructor(
    private readonly clients: AnthropicClients,
    private readonly recorder: ChatRecorder,
    private readonly catalog: ModelCatalog,
    private readonly log: Logger,
    private readonly retry: RetryPolicy = DEFAULT_RETRY_POLICY,
    private readonly observers: ChatObserver[] = [],
  ) {}

  async run(plan: StartedChat, channel: EventChannel<ChatEventPayload>): Promise<void> {
    const startedAt = performance.now();
    plan.turnSaved.catch((error: unknown) =>
      this.log.error({ requestId: plan.requestId, err: error }, 'AUDIT APPEND FAILED: could not save the conversation turn and its credential.use event'),
    );
    const identity = plan.key.credentialId ? `${plan.key.credentialId}:${plan.key.dataKeyVersion}` : 'platform';
    const client = this.clients.get(identity, plan.key.apiKey);
    let text = '';
    let deltas = 0;
    let firstTokenAt: number | null = null;
    let inputTokens = 0;
    let outputTokens = 0;
    let stopReason: string | null = null;
    let failure: UpstreamFailure | null = null;

    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await streamAnthropic(client, plan.request, channel.signal, (event) => {
            if (event.type === 'start') {
              inputTokens = event.inputTokens;
            } else if (event.type === 'delta') {
              firstTokenAt ??= performance.now();
              text += event.text;
              deltas++;
              channel.push(chatDelta(event.text));
              // On the next turn of the event loop, after this delta has been flushed to the client.
              if (deltas === 1) setTimeout(plan.beginTurnWrite, 0);
            } else {
              ({ inputTokens, outputTokens, stopReason } = event);
            }
          });
          break;
        } catch (error) {
          const canRetry = firstTokenAt === null && attempt < this.retry.maxAttempts && isRetriable(error);
          if (!canRetry) throw error;
          this.log.warn({ requestId: plan.requestId, code: error.code, attempt }, 'upstream busy: retrying');
          if (!(await backoff(retryDelayMs(this.retry, attempt, error), channel.signal))) break;
        }
      }
    } catch (error) {
      failure = error instanceof UpstreamFailure ? error : new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, 'The chat failed');
      if (error instanceof UpstreamFailure) {
        const { code, status, networkCode } = error;
        const afterFirstToken = firstTokenAt !== null;
        this.log.warn({ requestId: plan.requestId, code, status, networkCode, afterFirstToken }, 'upstream failed');
      } else {
        this.log.error({ requestId: plan.requestId, err: error }, 'chat failed');
      }
    }

    if (channel.wasInterrupted && !failure && stopReason === null) {
      failure = new UpstreamFailure(ChatFailedCode.SHUTTING_DOWN, 'The gateway is restarting; retry the request');
    }
    const cancelled = channel.signal.aborted && !failure && stopReason === null;
    // A cancelled stream never gets its final usage; count the deltas received as output tokens.
    if (cancelled || failure) outputTokens = Math.max(outputTokens, deltas);
    const outcome: ChatOutcome = {
      status: failure ? 'failed' : cancelled ? 'cancelled' : 'completed',
      text,
      inputTokens,
      outputTokens,
      costUsd: this.catalog.costUsd(plan.model, inputTokens, outputTokens),
      ttftMs: firstTokenAt === null ? null : Math.round(firstTokenAt - startedAt),
      totalMs: Math.round(performance.now() - startedAt),
      errorCode: failure?.code ?? null,
    };
    plan.beginTurnWrite();
    try {
      await this.recorder.recordOutcome(plan, outcome);
    } catch (error) {
      this.log.error({ requestId: plan.requestId, err: error }, 'could not record chat usage');
    }
    for (const observe of this.observers) observe(plan, outcome);

    if (failure) channel.push(chatFailed(failure.code, failure.message, failure.retryable));
    else if (!cancelled) {
      channel.push(chatCompleted(stopReason, { inputTokens, outputTokens, costUsd: outcome.costUsd }));
    }
    channel.end();
  }
}
