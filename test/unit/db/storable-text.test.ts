import { storableJson, storableText } from '../../../src/db/storable-text';

describe('storableText', () => {
  it('puts U+FFFD for each NUL and leaves every other text as it is', () => {
    expect(storableText('a\u0000b\u0000')).toBe('a\ufffdb\ufffd');
    const plain = 'no nul here: \\u0000 is six characters';
    expect(storableText(plain)).toBe(plain);
  });
});

describe('storableJson', () => {
  it('puts U+FFFD for each NUL in keys and strings, and keeps a spelled-out \\u0000 as text', () => {
    const value = { 'k\u0000': ['x\u0000y', '\\u0000', '\\\u0000', 'ok'] };
    expect(JSON.parse(storableJson(value))).toEqual({ 'k\ufffd': ['x\ufffdy', '\\u0000', '\\\ufffd', 'ok'] });
  });

  it('is JSON.stringify when there is no NUL', () => {
    const value = { a: ['b', 1, null, { c: '\\\\u0000' }] };
    expect(storableJson(value)).toBe(JSON.stringify(value));
  });
});
