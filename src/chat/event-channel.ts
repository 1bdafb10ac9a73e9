import type { ChatFailedCode } from '../common/codes';
/** What a stream stopped by the server ends with (a ChatFailed). */
export interface InterruptReason {
  code: ChatFailedCode;
  message: string;
}

/**
 * A push-based async iterator for one subscription. Unlike an async generator, `return()`
 * takes effect at once even while the producer is awaiting upstream I/O: it aborts `signal`,
 * which the producer passes to the upstream request, so the upstream socket closes
 * immediately rather than at the next token (a plain async generator suspended in `await`
 * would only see `return()` at its next `yield`).
 */
export class EventChannel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly waiters: Array<(result: IteratorResult<T>) => void> = [];
  private readonly controller = new AbortController();
  private ended = false;
  private interrupted = false;
  private reason: InterruptReason | null = null;
  private take: ((value: T) => boolean) | null = null;
  private onEnd: (() => void) | null = null;
  private announced: { value: T } | null = null;

  /** Aborted when the consumer goes away (unsubscribe, socket closed, server drain). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** True when the server (not the consumer) stopped the stream, e.g. at the end of a drain. */
  get wasInterrupted(): boolean {
    return this.interrupted;
  }

  /** Why the server stopped the stream, when it said; null for a drain. */
  get interruption(): InterruptReason | null {
    return this.reason;
  }

  /**
   * Stops the producer's upstream work like `return()` would, but keeps the channel open so the
   * producer can still push a final event (ChatFailed) before ending it. The first reason given wins.
   */
  interrupt(reason?: InterruptReason): void {
    if (!this.interrupted) this.reason = reason ?? null;
    this.interrupted = true;
    this.controller.abort();
  }

  /**
   * Lets a consumer take values at once, synchronously, as they are pushed, instead of through
   * `next()` (no promise per value). `take` is offered a value only while the consumer is waiting
   * in `next()` with nothing queued, so the order is kept; a value it declines (returns false)
   * goes the usual way. `onEnd` is called once when the channel ends, before its waiters learn it.
   */
  divert(take: (value: T) => boolean, onEnd?: () => void): void {
    this.take = take;
    this.onEnd = onEnd ?? null;
  }

  /**
   * Pushes `value` once the event loop has finished its current turn (setImmediate), or at once
   * before anything else is pushed or the channel ends, whichever comes first: it stays the first
   * value. For an event whose delivery may wait a fraction of a millisecond while other work of
   * this turn must not: ChatStarted, while the upstream request started in the same turn is still
   * to be written to its socket (node:http writes it after the turn's promise callbacks, which is
   * where graphql-ws would execute and send the event).
   */
  announce(value: T): void {
    this.flushAnnounced();
    this.announced = { value };
    setImmediate(() => this.flushAnnounced());
  }

  private flushAnnounced(): void {
    const announced = this.announced;
    if (!announced) return;
    this.announced = null;
    this.push(announced.value);
  }

  push(value: T): void {
    if (this.ended) return;
    this.flushAnnounced();
    if (this.take && this.waiters.length > 0 && this.queue.length === 0 && this.take(value)) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter({ value, done: false });
    else this.queue.push(value);
  }

  /** The producer is done: queued values are still delivered, then the iterator completes. */
  end(): void {
    if (this.ended) return;
    this.flushAnnounced();
    this.ended = true;
    this.onEnd?.();
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.announced = null;
    this.queue.length = 0;
    this.controller.abort();
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
