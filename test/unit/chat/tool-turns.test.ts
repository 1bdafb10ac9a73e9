import { replayTurns } from '../../../src/chat/tool-turns';
import { MessageRole } from '../../../src/modules/conversation/message-role';

const user = (content: string) => ({ role: MessageRole.USER, content, toolCalls: null, toolResults: null });
const assistant = (content: string, toolCalls: Array<{ id: string; name: string; input: unknown }> | null = null) => ({
  role: MessageRole.ASSISTANT,
  content,
  toolCalls,
  toolResults: null,
});
const tool = (results: Array<{ toolCallId: string; output: string; isError: boolean }>) => ({
  role: MessageRole.TOOL,
  content: '',
  toolCalls: null,
  toolResults: results,
});
const CALL = { id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } };
const RESULT = { toolCallId: 'toolu_1', output: 'Sunny', isError: false };

describe('replayTurns', () => {
  test('an answered tool call is replayed with its result, in order', () => {
    expect(
      replayTurns([user('weather?'), assistant('Let me check.', [CALL]), tool([RESULT]), assistant('Sunny.')]),
    ).toEqual([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: 'Let me check.', toolCalls: [CALL] },
      { role: 'tool', results: [RESULT] },
      { role: 'assistant', content: 'Sunny.' },
    ]);
  });

  test('calls never answered (timeout, cancel) are dropped, their text kept; an empty unanswered reply is left out', () => {
    expect(
      replayTurns([user('a'), assistant('Checking', [CALL]), user('b'), assistant('', [CALL]), user('c')]),
    ).toEqual([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'Checking' },
      { role: 'user', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
  });

  test('an empty failed reply without calls is left out, as before tools', () => {
    expect(replayTurns([user('a'), assistant(''), user('b')])).toEqual([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
    ]);
  });
});
