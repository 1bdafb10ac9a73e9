import { storableJson, storableText } from '../../../src/db/storable-text';

describe('storableText', () => {
  it('puts U+FFFD for each NUL and leaves every other text as it is', () => {
    expect(storableText('a\u0000b\u0000')).toBe('a\ufffdb\ufffd');
    const plain = 'no nul here: \\u0000 is six characters, and 😀 is a pair';
    expect(storableText(plain)).toBe(plain);
  });

  it('puts U+FFFD for each lone surrogate, as UTF-8 encoding does', () => {
    const cut = '😀😀'.slice(0, 3);
    expect(storableText(cut)).toBe('😀\ufffd');
    expect(storableText('\udc00a\ud800')).toBe(Buffer.from('\udc00a\ud800').toString());
  });
});

describe('storableJson', () => {
  it('puts U+FFFD for each NUL in keys and strings, and keeps a spelled-out \\u0000 as text', () => {
    const value = { 'k\u0000': ['x\u0000y', '\\u0000', '\\\u0000', 'ok'] };
    expect(JSON.parse(storableJson(value))).toEqual({ 'k\ufffd': ['x\ufffdy', '\\u0000', '\\\ufffd', 'ok'] });
  });

  it('puts U+FFFD for each lone surrogate and keeps pairs and spelled-out escapes', () => {
    const value = { 'k\ud800': ['x\udfffy', '😀', '\\ud800', '\\\ud800'] };
    expect(JSON.parse(storableJson(value))).toEqual({ 'k\ufffd': ['x\ufffdy', '😀', '\\ud800', '\\\ufffd'] });
  });

  it('is JSON.stringify when there is nothing to replace', () => {
    const value = { a: ['b', 1, null, { c: '\\\\u0000', d: '\\udfff', e: '\\u00e9 é' }] };
    expect(storableJson(value)).toBe(JSON.stringify(value));
  });
});
