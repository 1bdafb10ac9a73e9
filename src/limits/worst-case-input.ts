import type { ProviderRequest, ProviderTurn } from '../providers/provider-stream';

/**
 * Tokens a provider may add around the text of a request (role markers, the turn scaffolding
 * of the chat template), per message and once more for the request. An allowance, not a
 * guarantee: the reservation is corrected from the provider's own count at message_start.
 */
export const FRAMING_TOKENS_PER_MESSAGE = 16;

/**
 * An upper bound on the input tokens of a text-only request: the UTF-8 bytes of everything sent
 * (system prompt, earlier turns, the message) plus the framing allowance. Every tokenizer in
 * use for these models works on bytes (byte-level BPE; byte fallback for anything outside its
 * vocabulary), and each token it emits for text covers at least one byte, so text of n bytes is
 * never more than n tokens, whatever the script (CJK is ~1 token per 3-byte character, emoji
 * fewer than their 4 bytes). Images and documents, which are counted otherwise, never reach this estimate.
 */
export function worstCaseInputTokens(request: Pick<ProviderRequest, 'system' | 'messages' | 'tools'>): number {
  const bytes =
    (request.system ? utf8Bytes(request.system) : 0) +
    request.messages.reduce((sum, turn) => sum + turnBytes(turn), 0) +
    (request.tools?.length ? utf8Bytes(JSON.stringify(request.tools)) : 0);
  return bytes + FRAMING_TOKENS_PER_MESSAGE * (request.messages.length + 1 + toolParts(request));
}

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * Tool definitions, calls and results are sent as JSON (or as text around it): their JSON text
 * bounds them the same way, and each call, result and tool gets the framing allowance of a message.
 */
function turnBytes(turn: ProviderTurn): number {
  switch (turn.role) {
    case 'user':
      return utf8Bytes(turn.content);
    case 'assistant':
      return utf8Bytes(turn.content) + (turn.toolCalls?.length ? utf8Bytes(JSON.stringify(turn.toolCalls)) : 0);
    case 'tool':
      return turn.results.reduce((sum, result) => sum + utf8Bytes(result.output) + utf8Bytes(result.toolCallId), 0);
  }
}

function toolParts(request: Pick<ProviderRequest, 'messages' | 'tools'>): number {
  let parts = request.tools?.length ?? 0;
  for (const turn of request.messages) {
    if (turn.role === 'assistant') parts += turn.toolCalls?.length ?? 0;
    if (turn.role === 'tool') parts += turn.results.length;
  }
  return parts;
}
