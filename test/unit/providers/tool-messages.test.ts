import { anthropicMessages, AnthropicToolUse } from '../../../src/providers/anthropic/anthropic-tool-use';
import { openAiMessages, OpenAiToolCalls } from '../../../src/providers/openai/openai-tool-calls';
import type { ProviderTurn } from '../../../src/providers/provider-stream';

const CALLS = [
  { id: 'c1', name: 'get_weather', input: { city: 'Paris' } },
  { id: 'c2', name: 'get_time', input: {} },
];
const TURNS: ProviderTurn[] = [
  { role: 'user', content: 'weather and time?' },
  { role: 'assistant', content: '', toolCalls: CALLS },
  {
    role: 'tool',
    results: [
      { toolCallId: 'c1', output: 'Sunny', isError: false },
      { toolCallId: 'c2', output: 'no clock', isError: true },
    ],
  },
  { role: 'assistant', content: 'Sunny; time unknown.' },
  { role: 'user', content: 'thanks' },
];

test('Anthropic: tool_use blocks, then one user turn of tool_result blocks with is_error', () => {
  expect(anthropicMessages(TURNS)).toEqual([
    { role: 'user', content: 'weather and time?' },
    {
      role: 'assistant',
      content: [
        { type: 'tool_use', id: 'c1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'c2', name: 'get_time', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'c1', content: 'Sunny' },
        { type: 'tool_result', tool_use_id: 'c2', content: 'no clock', is_error: true },
      ],
    },
    { role: 'assistant', content: 'Sunny; time unknown.' },
    { role: 'user', content: 'thanks' },
  ]);
});

test('Anthropic: a user message right after results joins their turn (turns alternate)', () => {
  const merged = anthropicMessages([...TURNS.slice(0, 3), { role: 'user', content: 'more' }]);
  expect(merged).toHaveLength(3);
  expect(merged[2].content).toEqual([
    expect.objectContaining({ type: 'tool_result', tool_use_id: 'c1' }),
    expect.objectContaining({ type: 'tool_result', tool_use_id: 'c2' }),
    { type: 'text', text: 'more' },
  ]);
});

test('OpenAI: the assistant message carries tool_calls, each result is a tool message', () => {
  expect(openAiMessages('Be brief.', TURNS)).toEqual([
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'weather and time?' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'c2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    },
    { role: 'tool', tool_call_id: 'c1', content: 'Sunny' },
    { role: 'tool', tool_call_id: 'c2', content: 'Error: no clock' },
    { role: 'assistant', content: 'Sunny; time unknown.' },
    { role: 'user', content: 'thanks' },
  ]);
});

test('Anthropic stream: input_json_delta fragments make one call per tool_use block at its stop', () => {
  const blocks = new AnthropicToolUse();
  blocks.start({
    type: 'content_block_start',
    index: 1,
    content_block: { type: 'tool_use', id: 't1', name: 'f', input: {}, caller: { type: 'direct' } },
  } as never);
  for (const partial_json of ['{"ci', 'ty": "Pa', 'ris"}']) {
    blocks.delta({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json } });
  }
  expect(blocks.stop(0)).toBeNull();
  expect(blocks.stop(1)).toEqual({ id: 't1', name: 'f', input: { city: 'Paris' } });
});

test('OpenAI stream: deltas by index accumulate; empty arguments are {}, invalid JSON stays text', () => {
  const calls = new OpenAiToolCalls();
  calls.add([{ index: 1, id: 'b', type: 'function', function: { name: 'g', arguments: '' } }]);
  calls.add([{ index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '{"x":' } }]);
  calls.add([{ index: 0, function: { arguments: '1}' } }]);
  calls.add([{ index: 2, id: 'c', type: 'function', function: { name: 'h', arguments: '{oops' } }]);
  expect(calls.finish()).toEqual([
    { id: 'a', name: 'f', input: { x: 1 } },
    { id: 'b', name: 'g', input: {} },
    { id: 'c', name: 'h', input: '{oops' },
  ]);
});
