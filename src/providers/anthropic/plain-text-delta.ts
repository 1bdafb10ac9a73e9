const PREFIX = '{"type":"content_block_delta","index":';
const DELTA = ',"delta":{"type":"text_delta","text":"';
const SUFFIX = '"}}';
const QUOTE = 34;
const BACKSLASH = 92;
const FIRST_PRINTABLE = 32;
const DIGIT_0 = 48;
const DIGIT_9 = 57;

/**
 * The text of a `content_block_delta` event's data when it is a text delta written exactly as
 * Anthropic writes one (`{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}`)
 * and its text has nothing JSON escapes (no quote, backslash or control character): what
 * JSON.parse would find, without building the event's three objects for every token. Null for
 * anything else (other fields, another order, whitespace, an escaped text), which is then parsed.
 */
export function plainTextDelta(data: string): string | null {
  if (!data.startsWith(PREFIX)) return null;
  let at = PREFIX.length;
  while (isDigit(data.charCodeAt(at))) at++;
  if (at === PREFIX.length || !data.startsWith(DELTA, at)) return null;
  const from = at + DELTA.length;
  const to = data.length - SUFFIX.length;
  if (to < from || !data.endsWith(SUFFIX)) return null;
  for (let i = from; i < to; i++) {
    const code = data.charCodeAt(i);
    if (code === QUOTE || code === BACKSLASH || code < FIRST_PRINTABLE) return null;
  }
  return data.slice(from, to);
}

const isDigit = (code: number): boolean => code >= DIGIT_0 && code <= DIGIT_9;
