import { randomBytes } from 'node:crypto';
import type { JsonObject } from './anthropic/types';

/**
 * How the fake upstreams (Anthropic and OpenAI-format) script tool use from the conversation:
 * - `[[tool:NAME {json}]]` in the latest user text asks for that tool call (several markers: parallel
 *   calls in one step); once the results come back, the reply is text echoing them.
 * - `[[tool-forever:NAME {json}]]` asks for the call again after every result (for maxSteps).
 * The reply to results is `Tool said: <output>` per result, joined by ` | ` (a failed result: `Error: <output>`),
 * identical on both servers, so the same conversation gives the same text.
 */
export interface ScriptedCall {
  id: string;
  name: string;
  /** The input's JSON text, streamed in fragments as the real APIs do. */
  json: string;
}

export interface ScriptedResult {
  output: string;
  isError: boolean;
}

export type ToolScript =
  | { kind: 'calls'; calls: ScriptedCall[]; text: string }
  | { kind: 'results'; results: ScriptedResult[] }
  | { kind: 'none' };

const MARKER = /\[\[(tool|tool-forever):([A-Za-z0-9_-]+)\s*(.*?)\]\]/g;

/** The markers in `text`: their calls (with fresh ids, `prefix` the API's id style) and whether any repeats forever. */
export function markedCalls(text: string, prefix: string): { calls: ScriptedCall[]; forever: boolean } {
  const calls: ScriptedCall[] = [];
  let forever = false;
  for (const match of text.matchAll(MARKER)) {
    forever ||= match[1] === 'tool-forever';
    calls.push({
      id: `${prefix}${randomBytes(9).toString('base64url')}`,
      name: match[2],
      json: match[3].trim() || '{}',
    });
  }
  return { calls, forever };
}

/** Decides a reply from the last user text and whether the conversation ends with tool results. */
export function decideToolScript(lastUserText: string, results: ScriptedResult[] | null, prefix: string): ToolScript {
  const { calls, forever } = markedCalls(lastUserText, prefix);
  if (results) {
    if (forever) return { kind: 'calls', calls, text: '' };
    return { kind: 'results', results };
  }
  if (calls.length) return { kind: 'calls', calls, text: 'Let me check.' };
  return { kind: 'none' };
}

export const echoResults = (results: ScriptedResult[]): string =>
  results.map((result) => `Tool said: ${result.isError ? 'Error: ' : ''}${result.output}`).join(' | ');

/** Splits a JSON text into a few fragments, as the APIs stream a call's input. */
export function jsonFragments(json: string): string[] {
  const size = Math.max(1, Math.ceil(json.length / 3));
  const parts: string[] = [];
  for (let at = 0; at < json.length; at += size) parts.push(json.slice(at, at + size));
  return parts.length ? parts : [''];
}

/** Word tokens of `text` keeping their leading whitespace (`tokens.join('') === text`). */
export const wordTokens = (text: string): string[] => text.match(/\s*\S+/g) ?? [];

export type { JsonObject };
