import { KeywardError } from '../../../../src/common/errors';
import { checkToolDefinitions } from '../../../../src/modules/agent/tool-definitions';

const LIMITS = { maxTools: 3, maxDefinitionBytes: 400 };
const tool = (name: string, inputSchema: unknown = { type: 'object' }) =>
  ({ name, description: 'd', inputSchema }) as {
    name: string;
    description: string;
    inputSchema: Record<string, unknown>;
  };

const refusal = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KeywardError);
    expect((error as KeywardError).code).toBe('BAD_USER_INPUT');
    return (error as KeywardError).message;
  }
  throw new Error('expected BAD_USER_INPUT');
};

test('valid definitions come back as plain copies', () => {
  const schema = { type: 'object', properties: { q: { type: 'string' } }, required: ['q'], $id: 'https://x.test/s' };
  expect(checkToolDefinitions([tool('a-b_1', schema), tool('second', { ...schema })], LIMITS)).toEqual([
    tool('a-b_1', schema),
    tool('second', schema),
  ]);
  // The same $id twice, and again in a later call: nothing is registered between checks.
  expect(checkToolDefinitions([tool('again', schema)], LIMITS)).toHaveLength(1);
});

test.each([
  ['count', [tool('a'), tool('b'), tool('c'), tool('d')], /at most 3 tools/],
  ['name pattern', [tool('a.b')], /letters, digits/],
  ['duplicate', [tool('a'), tool('a')], /used twice/],
  ['not a schema', [tool('a', { type: 'object', properties: { x: { minimum: 'one' } } })], /not a valid JSON Schema/],
  ['an array schema', [tool('a', { type: 'array' })], /describe an object/],
  ['size', [tool('a', { type: 'object', description: 'x'.repeat(400) })], /at most 400 bytes/],
])('refuses: %s', (_what, tools, message) => {
  expect(refusal(() => checkToolDefinitions(tools, LIMITS))).toMatch(message);
});
