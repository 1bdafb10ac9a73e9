import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** How messages reach one client's socket. */
export interface SocketSender {
  /** Sends one message; a promise when the client is not keeping up (wait for it before more). */
  send(data: string): Promise<void> | void;
  /**
   * Keeps what is sent from now to the end of this event-loop turn in one write: an operation's
   * last event and graphql-ws's `complete`, which follows it a few promise callbacks later.
   */
  holdUntilTurnEnd(): void;
}

/** Above this many bytes queued for a client, its operations wait for the socket to drain. */
const SEND_HIGH_WATER_BYTES = 256 * 1024;

/**
 * Sends messages without a system call each: the first message sent in a synchronous run corks
 * the TCP socket, and a microtask uncorks it, so everything sent before that microtask (all the
 * ChatDeltas of one upstream read: the SSE parser and the direct delta path hand them on
 * synchronously, in the read's own callback) leaves in one write. A microtask rather than the end
 * of the event-loop turn, so a chat's first ChatDelta waits only for the rest of its own read to
 * be parsed, not for every other socket's reads in that turn. `holdUntilTurnEnd` keeps the socket
 * corked to the end of the turn instead, for messages known to follow each other through several
 * promise callbacks (an operation's last event, then `complete`).
 * graphql-ws awaits each send, so waiting for each write's callback would also serialise them one
 * per turn; instead a send only waits when the client is not keeping up, which bounds what is
 * queued for it.
 */
export function batchedSender(socket: WebSocket, transport: Duplex): SocketSender {
  let corked = false;
  let held = false;
  const cork = () => {
    corked = true;
    transport.cork();
  };
  const uncork = () => {
    corked = false;
    transport.uncork();
  };
  const uncorkUnlessHeld = () => {
    if (!held) uncork();
  };
  const release = () => {
    held = false;
    uncork();
  };
  const send = (data: string): Promise<void> | void => {
    if (socket.readyState !== socket.OPEN) return;
    if (!corked) {
      cork();
      queueMicrotask(uncorkUnlessHeld);
    }
    // A failed write also closes the socket, which ends its operations; nothing to report here.
    socket.send(data, () => undefined);
    if (socket.bufferedAmount + transport.writableLength > SEND_HIGH_WATER_BYTES) {
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
    if (!corked) cork();
    setImmediate(release);
  };
  return { send, holdUntilTurnEnd };
}
