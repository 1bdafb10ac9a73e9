const NUL = '\u0000';
const REPLACEMENT_CHARACTER = '\ufffd';
/** A `\u0000` escape in JSON text that is not the tail of an escaped backslash (`\\u0000`). */
const ESCAPED_NUL = /(?<!\\)((?:\\\\)*)\\u0000/g;

/*
 * PostgreSQL's text and jsonb cannot hold U+0000, and one such character fails the statement
 * that stores it, with everything written beside it. Clients cannot send one (validateInput
 * refuses it), but a model may write one: what a chat stores of the model's output (the reply's
 * text, its tool calls) has each NUL as U+FFFD. The client received the text as it came.
 */

/** `text` as it can be stored: each NUL as U+FFFD. */
export const storableText = (text: string): string =>
  text.includes(NUL) ? text.replaceAll(NUL, REPLACEMENT_CHARACTER) : text;

/** `value` as JSON that jsonb takes: each NUL, in a key or a string, as U+FFFD. */
export function storableJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.includes('\\u0000') ? json.replace(ESCAPED_NUL, '$1\\ufffd') : json;
}
