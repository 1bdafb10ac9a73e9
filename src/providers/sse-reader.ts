import type { Readable } from 'node:stream';

/** Receives one server-sent event: its `event:` name ('' when it has none) and its `data:` lines joined. */
export type SseEventHandler = (event: string, data: string) => void;

/**
 * The SSE wire format (the WHATWG EventSource rules for `event:`, `data:` and comment lines, any of
 * the three line endings, an unterminated event at the end dropped), parsed in place: one string
 * search per line and no object per line or per event. The SDKs' own parsers build a line array
 * and an event object per event and hand each on through an async iterator (a promise or more per
 * token); this one calls `onEvent` synchronously. `id:` and `retry:` are ignored: nothing
 * reconnects here.
 */
export class SseParser {
  private pending = '';
  private event = '';
  private data = '';
  private hasData = false;
  private afterCarriageReturn = false;

  constructor(private readonly onEvent: SseEventHandler) {}

  feed(chunk: string): void {
    const text = this.pending === '' ? chunk : this.pending + chunk;
    const hasCarriageReturn = text.includes('\r');
    let start = 0;
    // The previous read ended in a CR: a LF starting this one is the rest of that CRLF.
    if (this.afterCarriageReturn) {
      this.afterCarriageReturn = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    for (;;) {
      let end = text.indexOf('\n', start);
      let next = end + 1;
      if (hasCarriageReturn) {
        const cr = text.indexOf('\r', start);
        if (cr !== -1 && (end === -1 || cr < end)) {
          end = cr;
          next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
          if (cr === text.length - 1) this.afterCarriageReturn = true;
        }
      }
      if (end === -1) break;
      this.line(text, start, end);
      start = next;
    }
    this.pending = start === 0 ? text : text.slice(start);
  }

  private line(text: string, start: number, end: number): void {
    if (start === end) {
      if (this.hasData) {
        const { event, data } = this;
        this.event = '';
        this.data = '';
        this.hasData = false;
        this.onEvent(event, data);
      } else {
        this.event = '';
      }
      return;
    }
    if (text.charCodeAt(start) === COLON) return; // a comment (OpenRouter's ": OPENROUTER PROCESSING")
    if (text.startsWith('data', start)) {
      const value = valueOf(text, start + 4, end);
      if (value === null) return;
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (text.startsWith('event', start)) {
      const value = valueOf(text, start + 5, end);
      if (value !== null) this.event = value;
    }
  }
}

const LF = 10;
const COLON = 58;
const SPACE = 32;

/** The value of a field whose name ends at `at`, or null when the line's field name is longer. */
function valueOf(text: string, at: number, end: number): string | null {
  if (at === end) return '';
  if (text.charCodeAt(at) !== COLON) return null;
  const from = text.charCodeAt(at + 1) === SPACE ? at + 2 : at + 1;
  return text.slice(from, end);
}

/**
 * Feeds a response body to `parser` as it arrives. Resolves at the body's end;
 * rejects when it fails, closes early, or a handler throws (the body is then destroyed, which
 * closes the connection). A Node stream (what node-http-fetch returns) is read through its
 * events, without an async iterator; any other async iterable of bytes is read by iteration.
 */
export function readSseBody(body: unknown, parser: SseParser): Promise<void> {
  if (isNodeReadable(body)) return readNodeStream(body, parser);
  if (isAsyncIterable(body)) return readIterable(body, parser);
  return Promise.reject(new TypeError('The response has no readable body'));
}

function readNodeStream(body: Readable, parser: SseParser): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      body.destroy();
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => {
      if (settled) return;
      try {
        parser.feed(chunk);
      } catch (error) {
        fail(error);
      }
    });
    body.once('end', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    body.once('error', fail);
    body.once('close', () => fail(new Error('The response body closed before its end')));
  });
}

async function readIterable(body: AsyncIterable<Uint8Array>, parser: SseParser): Promise<void> {
  const decoder = new TextDecoder();
  for await (const bytes of body) {
    parser.feed(decoder.decode(bytes, { stream: true }));
  }
  parser.feed(decoder.decode());
}

function isNodeReadable(body: unknown): body is Readable {
  const candidate = body as Partial<Readable> | null;
  return typeof candidate?.on === 'function' && typeof candidate.setEncoding === 'function';
}

function isAsyncIterable(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof (body as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] === 'function';
}
