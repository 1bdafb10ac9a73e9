const NUL = '\u0000';
const REPLACEMENT_CHARACTER = '\ufffd';
/**
 * In JSON.stringify's output, a `\u0000` or lone-surrogate escape (it escapes only lone
 * surrogates; a pair is written as is) that is not the tail of an escaped backslash (`\\u0000`).
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

/*
 * PostgreSQL's text and jsonb hold neither U+0000 nor half of a surrogate pair, and one such
 * character fails the statement that stores it, with everything written beside it. Clients
 * cannot send a NUL (validateInput refuses it), but a model may write one, and a lone surrogate
 * can come from either (a JSON `\ud83d` escape, a title cut in the middle of an emoji): what a
 * chat stores has each as U+FFFD, as UTF-8 encoding does. The client received the text as it came.
 */

/** `text` as it can be stored: each NUL and lone surrogate as U+FFFD. */
export function storableText(text: string): string {
  const wellFormed = text.isWellFormed() ? text : text.toWellFormed();
  return wellFormed.includes(NUL) ? wellFormed.replaceAll(NUL, REPLACEMENT_CHARACTER) : wellFormed;
}

/** `value` as JSON that jsonb takes: each NUL and lone surrogate, in a key or a string, as U+FFFD. */
export function storableJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.includes('\\u') ? json.replace(UNSTORABLE_ESCAPE, '$1\\ufffd') : json;
}
