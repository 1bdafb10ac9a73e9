import type {
  ContentBlockParam,
  MessageParam,
  RawContentBlockDeltaEvent,
  RawContentBlockStartEvent,
  Tool,
} from '@anthropic-ai/sdk/resources/messages';
import type { ProviderRequest, ProviderToolCall, ProviderTurn } from '../provider-stream';
import { parseToolInput } from '../tool-input';

/** The request's tools in the Messages API's form. */
export const anthropicTools = (request: ProviderRequest): Tool[] =>
  (request.tools ?? []).map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.inputSchema as Tool['input_schema'],
  }));

/**
 * The conversation as Messages API turns: an assistant turn's tool calls become tool_use blocks,
 * and their results a user turn of tool_result blocks (with is_error). A user message right
 * after results joins that turn, since turns must alternate.
 */
export function anthropicMessages(turns: readonly ProviderTurn[]): MessageParam[] {
  const messages: MessageParam[] = [];
  for (const turn of turns) {
    if (turn.role === 'assistant') {
      messages.push({ role: 'assistant', content: turn.toolCalls?.length ? assistantBlocks(turn) : turn.content });
      continue;
    }
    const blocks: ContentBlockParam[] =
      turn.role === 'tool'
        ? turn.results.map((result) => ({
            type: 'tool_result',
            tool_use_id: result.toolCallId,
            content: result.output,
            ...(result.isError ? { is_error: true } : {}),
          }))
        : [{ type: 'text', text: turn.content }];
    const previous = messages.at(-1);
    if (previous?.role === 'user' && Array.isArray(previous.content)) previous.content.push(...blocks);
    else if (turn.role === 'user') messages.push({ role: 'user', content: turn.content });
    else messages.push({ role: 'user', content: blocks });
  }
  return messages;
}

function assistantBlocks(turn: Extract<ProviderTurn, { role: 'assistant' }>): ContentBlockParam[] {
  return [
    ...(turn.content ? [{ type: 'text' as const, text: turn.content }] : []),
    ...(turn.toolCalls ?? []).map((call) => ({
      type: 'tool_use' as const,
      id: call.id,
      name: call.name,
      input: call.input,
    })),
  ];
}

/**
 * Collects tool_use blocks as they stream: content_block_start names the call, input_json_delta
 * events carry its input JSON in fragments, content_block_stop completes it.
 */
export class AnthropicToolUse {
  private readonly open = new Map<number, { id: string; name: string; json: string }>();

  start(event: RawContentBlockStartEvent): void {
    if (event.content_block.type !== 'tool_use') return;
    this.open.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: '' });
  }

  delta(event: RawContentBlockDeltaEvent): void {
    if (event.delta.type !== 'input_json_delta') return;
    const block = this.open.get(event.index);
    if (block) block.json += event.delta.partial_json;
  }

  /** The completed call, when the block that stopped was a tool_use block. */
  stop(index: number): ProviderToolCall | null {
    const block = this.open.get(index);
    if (!block) return null;
    this.open.delete(index);
    return { id: block.id, name: block.name, input: parseToolInput(block.json) };
  }
}
