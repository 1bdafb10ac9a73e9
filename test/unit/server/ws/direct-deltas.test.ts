import 'reflect-metadata';
import { chatDelta, chatStarted, type ChatEventPayload } from '../../../../src/chat/chat-event.type';
import { EventChannel } from '../../../../src/chat/event-channel';
import { KeySource } from '../../../../src/modules/credential/key-source';
import { deltaTemplate, writeDeltasDirectly } from '../../../../src/server/ws/direct-deltas';

const execute = (event: { text: string }) => ({ data: { chat: { __typename: 'ChatDelta', text: event.text } } });

describe('deltaTemplate', () => {
  it('cuts the executed result around the text, so a delta is the same JSON as its execution', () => {
    const template = deltaTemplate(execute)!;
    const text = 'a "quoted"\nline ✓';
    expect(JSON.parse(template.before + JSON.stringify(text) + template.after)).toEqual(execute({ text }));
  });

  it('is null when the text is not there exactly once, the result has errors, or is a promise', () => {
    expect(deltaTemplate(() => ({ data: { chat: { __typename: 'ChatDelta' } } }))).toBeNull();
    expect(deltaTemplate((event) => ({ data: { a: event.text, b: event.text } }))).toBeNull();
    expect(deltaTemplate((event) => ({ data: { a: event.text }, errors: [{ message: 'x' }] }))).toBeNull();
    expect(deltaTemplate(async (event) => ({ data: { a: event.text } }))).toBeNull();
    expect(
      deltaTemplate(() => {
        throw new Error('resolver failed');
      }),
    ).toBeNull();
  });
});

describe('writeDeltasDirectly', () => {
  const started = chatStarted({ requestId: 'r', conversationId: 'c', model: 'm', keySource: KeySource.PLATFORM });

  it('writes deltas as graphql-ws next messages while the consumer waits, and keeps the order', async () => {
    const channel = new EventChannel<ChatEventPayload>();
    const sent: string[] = [];
    writeDeltasDirectly(
      channel,
      {
        id: 'op-1',
        sender: {
          send: (message) => void sent.push(message),
          holdUntilTurnEnd: () => undefined,
          close: () => undefined,
        },
      },
      deltaTemplate(execute)!,
    );

    // Nobody waits in next() yet: queued, delivered through the iterator.
    channel.push(started);
    channel.push(chatDelta('queued'));
    expect((await channel.next()).value).toBe(started);
    expect((await channel.next()).value).toEqual(chatDelta('queued'));

    // The consumer waits: deltas go straight to the socket; the next other event to the consumer.
    const next = channel.next();
    channel.push(chatDelta('one'));
    channel.push(chatDelta('two'));
    channel.push(started);
    expect((await next).value).toBe(started);
    expect(sent.map((message) => JSON.parse(message) as unknown)).toEqual([
      { id: 'op-1', type: 'next', payload: execute({ text: 'one' }) },
      { id: 'op-1', type: 'next', payload: execute({ text: 'two' }) },
    ]);
  });

  it('sends through the iterator while the socket asks to wait, then directly again', async () => {
    const channel = new EventChannel<ChatEventPayload>();
    const sent: string[] = [];
    let drain!: () => void;
    const drained = new Promise<void>((resolve) => (drain = resolve));
    writeDeltasDirectly(
      channel,
      {
        id: 'op',
        sender: {
          send: (message) => (sent.push(message) === 1 ? drained : undefined),
          holdUntilTurnEnd: () => undefined,
          close: () => undefined,
        },
      },
      deltaTemplate(execute)!,
    );
    const waiting = channel.next();
    channel.push(chatDelta('first'));
    channel.push(chatDelta('held'));
    expect((await waiting).value).toEqual(chatDelta('held'));
    drain();
    await drained;
    const again = channel.next();
    channel.push(chatDelta('direct'));
    channel.end();
    expect((await again).done).toBe(true);
    expect(
      sent.map(
        (message) => (JSON.parse(message) as { payload: { data: { chat: { text: string } } } }).payload.data.chat.text,
      ),
    ).toEqual(['first', 'direct']);
  });

  it('asks the socket to keep the last event and complete in one write when the channel ends, once', async () => {
    const channel = new EventChannel<ChatEventPayload>();
    const calls: string[] = [];
    writeDeltasDirectly(
      channel,
      {
        id: 'op',
        sender: {
          send: (message) => void calls.push(`send ${(JSON.parse(message) as { type: string }).type}`),
          holdUntilTurnEnd: () => void calls.push('hold'),
          close: () => undefined,
        },
      },
      deltaTemplate(execute)!,
    );
    const waiting = channel.next();
    channel.push(chatDelta('text'));
    channel.push(started);
    expect((await waiting).value).toBe(started);
    expect(calls).toEqual(['send next']);
    channel.end();
    channel.end();
    expect(calls).toEqual(['send next', 'hold']);
    expect((await channel.next()).done).toBe(true);
  });
});
