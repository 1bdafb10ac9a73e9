import { ChatFailedCode } from '../common/codes';
import { ErrorCode, isKeywardError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { ModelCatalog } from '../catalog/model-catalog';
import { worstCaseInputTokens } from '../limits/worst-case-input';
import { UpstreamFailure, type ProviderRequest, type ProviderToolCall } from '../providers/provider-stream';
import type { ChatEventPayload } from './chat-event.type';
import { interruptionFailure } from './chat-outcome';
import type { StartedChat } from './chat-plan';
import type { ChatRecorder } from './chat-recorder';
import type { EventChannel } from './event-channel';
import type { PendingToolCalls, ToolStep } from './pending-tool-calls';

/** Sets a chat's budget reservation to a new worst case; rejects with BUDGET_EXCEEDED when it cannot. */
export type ReservationResize = (chat: StartedChat, worstCaseUsd: number) => Promise<void>;

/** After a step that ended in tool calls: the request of the next model call, or how the chat ends. */
export type Continuation =
  | { kind: 'continue'; request: ProviderRequest }
  /** `failure` null: the client went away while the chat waited (a cancelled chat has no final event). */
  | { kind: 'end'; failure: UpstreamFailure | null };

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * What happens between two model calls of a chat whose model asked for tools: the step limit,
 * the wait for the client's results (PendingToolCalls, bounded by the timeout, ended by a
 * cancel), storing the results, and the budget reservation resized to the next call's worst
 * case. The next call goes out with the same model and key.
 */
export class ToolLoop {
  constructor(
    private readonly pending: PendingToolCalls,
    private readonly recorder: ChatRecorder,
    private readonly catalog: ModelCatalog,
    private readonly resultTimeoutMs: number,
    private readonly log: Logger,
    private readonly resizeReservation?: ReservationResize,
  ) {}

  /** Opens the step's wait at its first tool call, so results are accepted as soon as the client has a call. */
  open(chat: StartedChat): ToolStep {
    return this.pending.open(chat.requestId, chat.userId);
  }

  /** Adds a call to the step, as it is sent to the client. */
  static add(step: ToolStep, call: ProviderToolCall): void {
    step.add({ id: call.id, name: call.name, inputBytes: utf8Bytes(JSON.stringify(call.input) ?? '') });
  }

  async afterToolCalls(
    chat: StartedChat,
    step: number,
    request: ProviderRequest,
    reply: { text: string; toolCalls: ProviderToolCall[]; toolStep: ToolStep },
    channel: EventChannel<ChatEventPayload>,
  ): Promise<Continuation> {
    if (step >= chat.maxSteps) {
      reply.toolStep.close();
      return end(
        new UpstreamFailure(
          ChatFailedCode.TOOL_STEPS_EXCEEDED,
          `The model asked for tools again after ${chat.maxSteps} model calls (the tenant's maxSteps)`,
        ),
      );
    }
    const answer = await reply.toolStep.wait(this.resultTimeoutMs, channel.signal);
    if (answer.kind === 'timeout') {
      return end(
        new UpstreamFailure(ChatFailedCode.TOOL_RESULT_TIMEOUT, 'No result arrived for an open tool call in time'),
      );
    }
    if (answer.kind === 'aborted')
      return end(channel.wasInterrupted ? interruptionFailure(channel.interruption) : null);
    await this.recorder.recordToolResults(chat, answer.results);
    const next: ProviderRequest = {
      ...request,
      messages: [
        ...request.messages,
        { role: 'assistant', content: reply.text, toolCalls: reply.toolCalls },
        { role: 'tool', results: answer.results },
      ],
    };
    const refused = await this.reserveFor(chat, next);
    return refused ? end(refused) : { kind: 'continue', request: next };
  }

  /** The reservation now covers the next call at worst (the step before is in the usage rows); the failure if the budget cannot. */
  private async reserveFor(chat: StartedChat, next: ProviderRequest): Promise<UpstreamFailure | null> {
    if (!chat.reservationId || !this.resizeReservation) return null;
    const worstCaseUsd = this.catalog.costUsd(chat.model, worstCaseInputTokens(next), next.maxTokens);
    try {
      await this.resizeReservation(chat, worstCaseUsd);
      return null;
    } catch (error) {
      if (isKeywardError(error) && error.code === ErrorCode.BUDGET_EXCEEDED) {
        return new UpstreamFailure(
          ChatFailedCode.BUDGET_EXCEEDED,
          "The next step of this chat could exceed the tenant's monthly budget",
        );
      }
      this.log.error(
        { requestId: chat.requestId, err: error },
        'could not resize the budget reservation for a tool step',
      );
      return new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, 'The chat failed');
    }
  }
}

const end = (failure: UpstreamFailure | null): Continuation => ({ kind: 'end', failure });
