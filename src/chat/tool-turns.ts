import type { MessageEntity } from '../modules/conversation/message.entity';
import { MessageRole } from '../modules/conversation/message-role';
import type { ProviderTurn } from '../providers/provider-stream';

type StoredMessage = Pick<MessageEntity, 'role' | 'content' | 'toolCalls' | 'toolResults'>;

/**
 * A stored conversation as the turns sent to the provider again. Tool calls are replayed only
 * with their results: both providers refuse a tool call that no result follows, so calls whose
 * chat ended while waiting (timeout, cancel) are dropped, leaving the assistant's text. An empty
 * reply without tool calls (a failed one) is left out, as before tools.
 */
export function replayTurns(messages: readonly StoredMessage[]): ProviderTurn[] {
  const turns: ProviderTurn[] = [];
  messages.forEach((message, index) => {
    if (message.role === MessageRole.USER) {
      if (message.content.length > 0) turns.push({ role: 'user', content: message.content });
      return;
    }
    if (message.role === MessageRole.TOOL) {
      const previous = turns.at(-1);
      if (previous?.role === 'assistant' && previous.toolCalls?.length && message.toolResults?.length) {
        turns.push({ role: 'tool', results: message.toolResults });
      }
      return;
    }
    const answered = messages[index + 1]?.role === MessageRole.TOOL && (message.toolCalls?.length ?? 0) > 0;
    if (answered) turns.push({ role: 'assistant', content: message.content, toolCalls: message.toolCalls! });
    else if (message.content.length > 0) turns.push({ role: 'assistant', content: message.content });
  });
  return turns;
}
