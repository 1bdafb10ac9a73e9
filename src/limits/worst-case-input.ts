import type { ProviderRequest } from '../providers/provider-stream';

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
 * fewer than their 4 bytes). Only text is sent: images, documents and tools, which are counted
 * otherwise, never reach this estimate.
 */
export function worstCaseInputTokens(request: Pick<ProviderRequest, 'system' | 'messages'>): number {
  const bytes =
    (request.system ? Buffer.byteLength(request.system, 'utf8') : 0) +
    request.messages.reduce((sum, turn) => sum + Buffer.byteLength(turn.content, 'utf8'), 0);
  return bytes + FRAMING_TOKENS_PER_MESSAGE * (request.messages.length + 1);
}
