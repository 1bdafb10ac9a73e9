import type {
  ChatCompletionChunk,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { ProviderRequest, ProviderToolCall, ProviderTurn } from '../provider-stream';
import { parseToolInput } from '../tool-input';

/** The request's tools as Chat Completions function tools. */
export const openAiTools = (request: ProviderRequest): ChatCompletionFunctionTool[] =>
  (request.tools ?? []).map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
  }));

/**
 * The conversation as Chat Completions messages: an assistant turn's tool calls become its
 * `tool_calls` (arguments as JSON text), and each result a `role: tool` message. The API has no
 * error flag for a result, so a failed tool's output is marked in its text.
 */
export function openAiMessages(
  system: string | undefined,
  turns: readonly ProviderTurn[],
): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = system ? [{ role: 'system', content: system }] : [];
  for (const turn of turns) {
    if (turn.role === 'user') messages.push({ role: 'user', content: turn.content });
    else if (turn.role === 'tool') {
      for (const result of turn.results) {
        messages.push({
          role: 'tool',
          tool_call_id: result.toolCallId,
          content: result.isError ? `Error: ${result.output}` : result.output,
        });
      }
    } else if (turn.toolCalls?.length) {
      messages.push({
        role: 'assistant',
        content: turn.content || null,
        tool_calls: turn.toolCalls.map((call) => ({
          id: call.id,
          type: 'function',
          function: {
            name: call.name,
            arguments: typeof call.input === 'string' ? call.input : JSON.stringify(call.input),
          },
        })),
      });
    } else messages.push({ role: 'assistant', content: turn.content });
  }
  return messages;
}

type ToolCallDelta = NonNullable<ChatCompletionChunk.Choice.Delta['tool_calls']>[number];

/**
 * Collects streamed `tool_calls` deltas: the first delta of each index carries its id and
 * function name, later ones fragments of its arguments.
 */
export class OpenAiToolCalls {
  private readonly calls = new Map<number, { id: string; name: string; json: string }>();

  add(deltas: readonly ToolCallDelta[] | undefined): void {
    for (const delta of deltas ?? []) {
      const call = this.calls.get(delta.index) ?? { id: '', name: '', json: '' };
      if (delta.id) call.id = delta.id;
      if (delta.function?.name) call.name += delta.function.name;
      if (delta.function?.arguments) call.json += delta.function.arguments;
      this.calls.set(delta.index, call);
    }
  }

  /** Every call collected, in index order, and forgets them. */
  finish(): ProviderToolCall[] {
    const calls = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => ({ id: call.id, name: call.name, input: parseToolInput(call.json) }));
    this.calls.clear();
    return calls;
  }
}
