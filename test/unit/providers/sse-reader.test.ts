import { PassThrough } from 'node:stream';
import { readSseBody, SseParser } from '../../../src/providers/sse-reader';

function parse(chunks: string[]): Array<[string, string]> {
  const events: Array<[string, string]> = [];
  const parser = new SseParser((event, data) => events.push([event, data]));
  for (const chunk of chunks) parser.feed(chunk);
  return events;
}

describe('SseParser', () => {
  const stream = 'event: message_start\ndata: {"a":1}\n\nevent: ping\ndata: {}\n\n';

  it('hands on each event with its name and data', () => {
    expect(parse([stream])).toEqual([
      ['message_start', '{"a":1}'],
      ['ping', '{}'],
    ]);
  });

  it('gives the same events however the text is split into reads', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)])).toEqual(parse([stream]));
    }
    expect(parse([...stream])).toEqual(parse([stream]));
  });

  it('accepts CRLF and CR line endings, also when a CRLF is split between reads', () => {
    const crlf = stream.replaceAll('\n', '\r\n');
    const cr = stream.replaceAll('\n', '\r');
    expect(parse([crlf])).toEqual(parse([stream]));
    expect(parse([cr])).toEqual(parse([stream]));
    for (let cut = 1; cut < crlf.length; cut++) {
      expect(parse([crlf.slice(0, cut), crlf.slice(cut)])).toEqual(parse([stream]));
    }
  });

  it('joins data lines with a newline, skips comments and unknown fields, and names nameless events ""', () => {
    const text = ': OPENROUTER PROCESSING\n\ndata: {"x":\ndata:1}\nid: 7\nretry: 10\ndataX: no\n\ndata\n\n';
    expect(parse([text])).toEqual([
      ['', '{"x":\n1}'],
      ['', ''],
    ]);
  });

  it('drops an event with a name but no data, and one left unterminated at the end', () => {
    expect(parse(['event: lonely\n\nevent: cut\ndata: {"half"'])).toEqual([]);
  });
});

describe('readSseBody', () => {
  it('resolves at the end of a Node stream, after every event', async () => {
    const body = new PassThrough();
    const events: string[] = [];
    const done = readSseBody(body, new SseParser((_event, data) => events.push(data)));
    body.write('data: 1\n\ndata: ');
    body.end('2\n\n');
    await done;
    expect(events).toEqual(['1', '2']);
  });

  it('rejects when the stream fails, or closes before its end', async () => {
    const failing = new PassThrough();
    const failed = readSseBody(failing, new SseParser(() => undefined));
    failing.destroy(new Error('socket hang up'));
    await expect(failed).rejects.toThrow('socket hang up');

    const closing = new PassThrough();
    const closed = readSseBody(closing, new SseParser(() => undefined));
    closing.destroy();
    await expect(closed).rejects.toThrow('closed before its end');
  });

  it('rejects with what a handler throws, and destroys the body', async () => {
    const body = new PassThrough();
    const done = readSseBody(
      body,
      new SseParser(() => {
        throw new Error('an error event');
      }),
    );
    body.write('data: {}\n\n');
    await expect(done).rejects.toThrow('an error event');
    expect(body.destroyed).toBe(true);
  });

  it('reads any async iterable of bytes, decoding UTF-8 split between chunks', async () => {
    const bytes = Buffer.from('data: héllo ✓\n\n');
    async function* chunks() {
      for (const byte of bytes) yield Uint8Array.of(byte);
    }
    const events: string[] = [];
    await readSseBody(chunks(), new SseParser((_event, data) => events.push(data)));
    expect(events).toEqual(['héllo ✓']);
  });
});
