import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { textFrames } from './text-frames';

/** How messages reach one client's socket. */
export interface SocketSender {
  /** Sends one message; a promise when the client is not keeping up (wait for it before more). */
  send(data: string): Promise<void> | void;
  /**
   * Keeps what is sent from now to the end of this event-loop turn in one write: an operation's
   * last event and graphql-ws's `complete`, which follows it a few promise callbacks later.
   */
  holdUntilTurnEnd(): void;
  /** Closes the socket after what was sent before (a close frame must not overtake the messages). */
  close(code?: number, reason?: string): void;
}

/** Above this many bytes queued for a client, its operations wait for the socket to drain. */
const SEND_HIGH_WATER_BYTES = 256 * 1024;

/**
 * Sends messages without a system call each: the messages sent in one synchronous run (all the
 * ChatDeltas of one upstream read: the SSE parser and the direct delta path hand them on
 * synchronously, in the read's own callback) are kept, and a microtask writes them as one buffer
 * of WebSocket frames (textFrames), so they leave in one write. A microtask rather than the end
 * of the event-loop turn, so a chat's first ChatDelta waits only for the rest of its own read to
 * be parsed, not for every other socket's reads in that turn. `holdUntilTurnEnd` keeps them to the
 * end of the turn instead, for messages known to follow each other through several promise
 * callbacks (an operation's last event, then `complete`).
 *
 * The frames are written to the socket's transport directly, past ws's Sender: the server never
 * negotiates permessage-deflate (the socket's `extensions` is empty, checked here; otherwise every
 * message goes through `socket.send`) and never sends fragments, so ws's Sender keeps no state
 * between messages that this could break. Control frames ws writes itself (ping, pong) may pass
 * kept messages; a close frame may not, hence `close`.
 * graphql-ws awaits each send, so waiting for each write's callback would also serialise them one
 * per turn; instead a send only waits when the client is not keeping up, which bounds what is
 * queued for it.
 */
export function batchedSender(socket: WebSocket, transport: Duplex): SocketSender {
  const framedHere = socket.extensions === '';
  let kept: string[] = [];
  let keptLength = 0;
  let scheduled = false;
  let held = false;
  const flush = () => {
    scheduled = false;
    if (kept.length === 0) return;
    const messages = kept;
    kept = [];
    keptLength = 0;
    if (socket.readyState !== socket.OPEN) return;
    if (framedHere) transport.write(textFrames(messages));
    // A failed write also closes the socket, which ends its operations; nothing to report here.
    else for (const message of messages) socket.send(message, () => undefined);
  };
  const flushUnlessHeld = () => {
    if (!held) flush();
  };
  const release = () => {
    held = false;
    flush();
  };
  const send = (data: string): Promise<void> | void => {
    if (socket.readyState !== socket.OPEN) return;
    kept.push(data);
    keptLength += data.length;
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(flushUnlessHeld);
    }
    if (socket.bufferedAmount + keptLength > SEND_HIGH_WATER_BYTES) {
      return new Promise<void>((resolve) => {
        const done = () => {
          transport.off('drain', done);
          transport.off('close', done);
          resolve();
        };
        transport.on('drain', done);
        transport.on('close', done);
      });
    }
  };
  const holdUntilTurnEnd = () => {
    if (held) return;
    held = true;
    setImmediate(release);
  };
  const close = (code?: number, reason?: string) => {
    flush();
    socket.close(code, reason);
  };
  return { send, holdUntilTurnEnd, close };
}
