import type { IncomingHttpHeaders } from 'node:http';
import type { JsonObject } from './types';

export interface PresentedKey {
  key: string | undefined;
  source: 'x-api-key' | 'authorization' | undefined;
}

/** The real API takes `x-api-key`; @anthropic-ai/sdk 1.x sends `Authorization: Bearer <apiKey>` instead. */
export function presentedKey(headers: IncomingHttpHeaders): PresentedKey {
  const xApiKey = headers['x-api-key'];
  if (typeof xApiKey === 'string' && xApiKey !== '') return { key: xApiKey, source: 'x-api-key' };
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? '');
  if (match) return { key: match[1].trim(), source: 'authorization' };
  return { key: undefined, source: undefined };
}

export function parseJsonObject(raw: string): JsonObject | undefined {
  if (raw === '') return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

/** The first problem the real API would report for a /v1/messages body, with its wording, or undefined. */
export function messagesBodyProblem(raw: string, body: JsonObject | undefined): string | undefined {
  if (body === undefined) {
    return raw === '' ? 'Request body is required' : 'There was an error parsing the body: expected a JSON object';
  }
  if (body.model === undefined) return 'model: Field required';
  if (typeof body.model !== 'string' || body.model === '') return 'model: Input should be a valid string';
  if (body.max_tokens === undefined) return 'max_tokens: Field required';
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) {
    return 'max_tokens: Input should be a valid integer';
  }
  if (body.max_tokens < 1) return 'max_tokens: Input should be greater than or equal to 1';
  if (body.messages === undefined) return 'messages: Field required';
  if (!Array.isArray(body.messages)) return 'messages: Input should be a valid list';
  if (body.messages.length === 0) return 'messages: at least one message is required';
  for (const [index, message] of body.messages.entries()) {
    if (typeof message !== 'object' || message === null) return `messages.${index}: Input should be a valid dictionary`;
    const { role, content } = message as JsonObject;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') {
      return `messages.${index}.role: Input should be 'user', 'assistant' or 'system'`;
    }
    if (typeof content !== 'string' && !Array.isArray(content)) return `messages.${index}.content: Field required`;
  }
  if (body.stream !== undefined && typeof body.stream !== 'boolean') return 'stream: Input should be a valid boolean';
  return toolTurnsProblem(body.messages as JsonObject[]);
}

const blocksOf = (message: JsonObject | undefined): JsonObject[] =>
  Array.isArray(message?.content) ? (message.content as JsonObject[]) : [];

/** As the real API: every tool_use block is answered by a tool_result block in the next (user) message. */
function toolTurnsProblem(messages: JsonObject[]): string | undefined {
  for (const [index, message] of messages.entries()) {
    const uses = blocksOf(message).filter((block) => block.type === 'tool_use');
    if (uses.length === 0) continue;
    if (message.role !== 'assistant')
      return `messages.${index}: tool_use blocks are only allowed in assistant messages`;
    const next = messages[index + 1];
    const answered = new Set(
      blocksOf(next)
        .filter((block) => block.type === 'tool_result')
        .map((block) => block.tool_use_id),
    );
    for (const use of uses) {
      if (next?.role !== 'user' || !answered.has(use.id)) {
        return `messages.${index + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${String(use.id)}`;
      }
    }
  }
  return undefined;
}

/** The tool results the conversation ends with (its last message is a user turn of tool_result blocks), or null. */
export function endingToolResults(body: JsonObject): Array<{ output: string; isError: boolean }> | null {
  const messages = Array.isArray(body.messages) ? (body.messages as JsonObject[]) : [];
  const last = messages.at(-1);
  const results = blocksOf(last).filter((block) => block.type === 'tool_result');
  if (last?.role !== 'user' || results.length === 0) return null;
  return results.map((block) => ({ output: contentText(block.content), isError: block.is_error === true }));
}

/** Text of the latest user message that has text (a turn of only tool results has none). */
export function latestUserText(body: JsonObject): string {
  const messages = Array.isArray(body.messages) ? (body.messages as JsonObject[]) : [];
  for (const message of [...messages].reverse()) {
    if (message?.role !== 'user') continue;
    const text = contentText(message.content);
    if (text) return text;
  }
  return '';
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(
      (block): block is { type: 'text'; text: string } => block?.type === 'text' && typeof block.text === 'string',
    )
    .map((block) => block.text)
    .join(' ');
}

/** Text of the last `user` message (its text blocks joined with a space). */
export function lastUserText(body: JsonObject): string {
  const messages = Array.isArray(body.messages) ? (body.messages as JsonObject[]) : [];
  const last = [...messages].reverse().find((message) => message?.role === 'user');
  return last ? contentText(last.content) : '';
}

/**
 * The default reply, `Echo: <last user text>`, as word tokens that keep their leading whitespace, so
 * `tokens.join('')` is the whole (trimmed) reply.
 */
export function defaultReplyTokens(body: JsonObject): string[] {
  return `Echo: ${lastUserText(body)}`.trim().match(/\s*\S+/g) ?? [];
}

/**
 * Deterministic stand-in for input_tokens, close to what the real tokenizer counts: one per 4
 * ASCII characters of system + message text, and one per other character (CJK text is about one
 * token per character), at least 1.
 */
export function estimateInputTokens(body: JsonObject): number {
  const messages = Array.isArray(body.messages) ? (body.messages as JsonObject[]) : [];
  const text = [contentText(body.system), ...messages.map((message) => contentText(message?.content))].join('');
  let ascii = 0;
  let other = 0;
  for (const character of text) {
    if (character.codePointAt(0)! < 0x80) ascii++;
    else other++;
  }
  return Math.max(1, Math.ceil(ascii / 4) + other);
}
