import { EventChannel } from '../../../src/chat/event-channel';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const drain = async (channel: EventChannel<string>) => {
  const values: string[] = [];
  for await (const value of channel) values.push(value);
  return values;
};

describe('EventChannel.announce', () => {
  test('the announced value waits for the end of the current event-loop turn', async () => {
    const channel = new EventChannel<string>();
    const received: string[] = [];
    void channel.next().then((result) => received.push(result.value as string));
    channel.announce('started');
    await Promise.resolve();
    await Promise.resolve();
    expect(received).toEqual([]);
    await nextTurn();
    expect(received).toEqual(['started']);
  });

  test('it stays first: a value pushed before the turn ends comes after it', async () => {
    const channel = new EventChannel<string>();
    channel.announce('started');
    channel.push('delta');
    channel.end();
    expect(await drain(channel)).toEqual(['started', 'delta']);
  });

  test('a channel ended before the turn ends still delivers it', async () => {
    const channel = new EventChannel<string>();
    channel.announce('started');
    channel.push('failed');
    channel.end();
    await nextTurn();
    expect(await drain(channel)).toEqual(['started', 'failed']);
  });

  test('it is delivered once, even when pushed early and the turn then ends', async () => {
    const channel = new EventChannel<string>();
    channel.announce('started');
    channel.push('delta');
    await nextTurn();
    channel.end();
    expect(await drain(channel)).toEqual(['started', 'delta']);
  });

  test('a consumer that leaves first never receives it', async () => {
    const channel = new EventChannel<string>();
    channel.announce('started');
    await channel.return();
    await nextTurn();
    expect(await channel.next()).toEqual({ value: undefined, done: true });
    expect(channel.signal.aborted).toBe(true);
  });

  test('a value a direct consumer would take (divert) still comes after it', async () => {
    const channel = new EventChannel<string>();
    const taken: string[] = [];
    channel.divert((value) => {
      if (!value.startsWith('delta')) return false;
      taken.push(value);
      return true;
    });
    const first = channel.next();
    channel.announce('started');
    channel.push('delta 1');
    expect(await first).toEqual({ value: 'started', done: false });
    expect(taken).toEqual([]);
    expect(await channel.next()).toEqual({ value: 'delta 1', done: false });
    const waiting = channel.next();
    channel.push('delta 2');
    channel.end();
    expect(taken).toEqual(['delta 2']);
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
