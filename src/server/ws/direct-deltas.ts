import type { ExecutionResult } from 'graphql';
import { ChatDelta, chatDelta, type ChatEventPayload } from '../../chat/chat-event.type';
import type { SocketSender } from './batched-sender';

/** Where an operation's `next` messages can be written directly: its id and its socket's sender. */
export interface DirectSink {
  id: string;
  sender: SocketSender;
}

/** A subscription's source that can hand events over synchronously (EventChannel.divert). */
export interface DivertibleSource {
  divert(take: (event: ChatEventPayload) => boolean, onEnd?: () => void): void;
}

/** What an event execution returns for a ChatDelta, around its JSON-encoded text. */
export interface DeltaTemplate {
  before: string;
  after: string;
}

/** A text no reply contains, to find where the text goes in an executed result. */
const MARK = '\u0000keyward:delta-text\u0000';
const QUOTED_MARK = JSON.stringify(MARK);

/**
 * The result of executing the operation on a ChatDelta, cut around its text: executed once on a
 * marked delta. Null when the result is not a plain synchronous one with the text exactly once
 * (a selection without `text`, with it twice, or an error): those take the usual path.
 */
export function deltaTemplate(execute: (event: ChatDelta) => unknown): DeltaTemplate | null {
  let result: unknown;
  try {
    result = execute(chatDelta(MARK));
  } catch {
    return null;
  }
  if (typeof (result as Promise<unknown> | null)?.then === 'function') return null;
  if ((result as ExecutionResult).errors) return null;
  const json = JSON.stringify(result);
  const at = json.indexOf(QUOTED_MARK);
  if (at === -1 || json.includes(QUOTED_MARK, at + 1)) return null;
  return { before: json.slice(0, at), after: json.slice(at + QUOTED_MARK.length) };
}

export function isDivertible(source: unknown): source is DivertibleSource {
  return typeof (source as Partial<DivertibleSource> | null)?.divert === 'function';
}

/**
 * Writes each ChatDelta of `source` to `sink` as the graphql-ws `next` message graphql-ws would
 * have sent (same id, type and payload), built from the template: no execution, no promise, and
 * one string concatenation per token. Other events (ChatStarted, the last one) and deltas pushed
 * while the client is not keeping up (the sender asks to wait) go through graphql-ws as before.
 * When the source ends, the last event and graphql-ws's `complete` are kept in one write.
 */
export function writeDeltasDirectly(source: DivertibleSource, sink: DirectSink, template: DeltaTemplate): void {
  const before = `{"id":${JSON.stringify(sink.id)},"type":"next","payload":${template.before}`;
  const after = `${template.after}}`;
  let waiting = false;
  source.divert(
    (event) => {
      if (waiting || !(event instanceof ChatDelta)) return false;
      const drained = sink.sender.send(before + JSON.stringify(event.text) + after);
      if (drained) {
        waiting = true;
        void drained.then(() => (waiting = false));
      }
      return true;
    },
    () => sink.sender.holdUntilTurnEnd(),
  );
}
