import { ChatFailedCode } from '../common/codes';
import { UpstreamFailure } from '../providers/provider-stream';
import { chatCompleted, chatFailed, type ChatEventPayload, type ChatUsage } from './chat-event.type';
import type { ChatOutcome } from './chat-recorder';
import type { InterruptReason } from './event-channel';

/** How a chat's stream ended, as the runner saw it. */
export interface StreamEnd {
  /** What the upstream call failed with, after retries; null if it did not fail. */
  failure: UpstreamFailure | null;
  /** The provider's stop reason; null while the stream has not finished. */
  stopReason: string | null;
  /** The server stopped the stream (credential or token gone, budget, shutdown)… */
  interrupted: boolean;
  /** …and why; null for a shutdown. */
  interruption: InterruptReason | null;
  /** The stream was aborted: the client went away, or the server stopped it. */
  aborted: boolean;
}

/** What a chat records and tells its client: its status and, when it failed, why. */
export interface RunVerdict {
  status: ChatOutcome['status'];
  failure: UpstreamFailure | null;
}

/** Anything the upstream call throws becomes a failure the client may see: classified ones as they are. */
export const asChatFailure = (error: unknown): UpstreamFailure =>
  error instanceof UpstreamFailure ? error : new UpstreamFailure(ChatFailedCode.UPSTREAM_ERROR, 'The chat failed');

/** The ChatFailed of a stream the server stopped: the stop's reason, or a shutdown. */
export const interruptionFailure = (reason: InterruptReason | null): UpstreamFailure =>
  reason
    ? new UpstreamFailure(reason.code, reason.message)
    : new UpstreamFailure(ChatFailedCode.SHUTTING_DOWN, 'The gateway is restarting; retry the request');

/**
 * A finished stream is completed; an upstream failure, or a stop by the server before the end,
 * is failed; an abort by the client before the end is cancelled. A stream that finished before
 * the stop or abort arrived stays completed.
 */
export function classifyRun(end: StreamEnd): RunVerdict {
  const unfinished = end.failure === null && end.stopReason === null;
  if (unfinished && end.interrupted) return { status: 'failed', failure: interruptionFailure(end.interruption) };
  if (end.failure) return { status: 'failed', failure: end.failure };
  if (unfinished && end.aborted) return { status: 'cancelled', failure: null };
  return { status: 'completed', failure: null };
}

/** A reply that did not complete never gets its final usage: the deltas received count as output tokens. */
export const billedOutputTokens = (
  status: RunVerdict['status'],
  reportedOutputTokens: number,
  deltas: number,
): number => (status === 'completed' ? reportedOutputTokens : Math.max(reportedOutputTokens, deltas));

/** The event that ends the channel: ChatCompleted or ChatFailed; none for a cancelled chat. */
export function finalEvent(
  { status, failure }: RunVerdict,
  stopReason: string | null,
  usage: ChatUsage,
): ChatEventPayload | null {
  if (failure) return chatFailed(failure.code, failure.message, failure.retryable);
  return status === 'cancelled' ? null : chatCompleted(stopReason, usage);
}
