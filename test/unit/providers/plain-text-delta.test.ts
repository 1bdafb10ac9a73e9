import { plainTextDelta } from '../../../src/providers/anthropic/plain-text-delta';

const textDelta = (text: string, index = 0): string =>
  JSON.stringify({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });

describe('plainTextDelta', () => {
  it('reads the text of a text delta written as Anthropic writes it', () => {
    expect(plainTextDelta(textDelta('Hello'))).toBe('Hello');
    expect(plainTextDelta(textDelta(' world', 12))).toBe(' world');
    expect(plainTextDelta(textDelta('héllo 🌍 日本'))).toBe('héllo 🌍 日本');
    expect(plainTextDelta(textDelta(''))).toBe('');
  });

  it('agrees with JSON.parse on every text it reads, and leaves escaped texts to it', () => {
    const samples = ['a"b', 'back\\slash', 'line\nbreak', 'tab\there', '\u0001', '</script>', "it's", '\u2028', 'x'];
    for (const text of samples) {
      const data = textDelta(text);
      const read = plainTextDelta(data);
      const parsed = (JSON.parse(data) as { delta: { text: string } }).delta.text;
      if (read !== null) expect(read).toBe(parsed);
      else expect(data.slice(data.indexOf('"text":') + 7)).toContain('\\');
    }
    expect(plainTextDelta(textDelta('a"b'))).toBeNull();
    expect(plainTextDelta(textDelta('line\nbreak'))).toBeNull();
    expect(plainTextDelta(textDelta('</script>'))).toBe('</script>');
  });

  it('leaves every other shape to JSON.parse', () => {
    const others = [
      '{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"a\\""}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}',
      '{"type":"content_block_delta","index":,"delta":{"type":"text_delta","text":"x"}}',
      '{"type":"content_block_delta","index":-1,"delta":{"type":"text_delta","text":"x"}}',
      '{"type": "content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}',
      '{"index":0,"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"},"extra":1}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","more":"y"}}',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}} ',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"',
      '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"}}',
    ];
    for (const data of others) expect(plainTextDelta(data)).toBeNull();
  });
});
