import type OpenAI from 'openai';
import type { Stream } from 'openai/core/streaming';
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ProviderEventSink, ProviderRequest } from '../provider-stream';
import { classifyOpenAiError, openAiMidStreamFailure, type OpenAiCompatibleName } from './openai-errors';
import { openAiMessages, OpenAiToolCalls, openAiTools } from './openai-tool-calls';

export interface OpenAiStreamOptions {
  name: OpenAiCompatibleName;
  /**
   * Which body field carries `maxTokens`: OpenAI's current models take only
   * `max_completion_tokens`; OpenRouter documents `max_tokens`.
   */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

/**
 * One streamed Chat Completions call with `stream_options.include_usage`, its chunks handed to
 * `emit` as they arrive. Resolves when the stream ends; aborting `signal` closes the upstream
 * socket at once and the call then simply resolves (the caller knows it aborted).
 *
 * `start` is emitted when the answer starts, without an input count (the API reports usage only
 * in the last chunk, whose `choices` is empty). A stream counts as finished only once that usage
 * chunk arrived: a stream cut before it (or an OpenRouter `error` data event) is UPSTREAM_ERROR.
 * Failures before the answer are classified by HTTP status.
 */
export async function streamOpenAi(
  client: OpenAI,
  request: ProviderRequest,
  signal: AbortSignal,
  emit: ProviderEventSink,
  options: OpenAiStreamOptions,
): Promise<void> {
  let stream: Stream<ChatCompletionChunk>;
  try {
    const body: ChatCompletionCreateParamsStreaming = {
      model: request.model,
      messages: openAiMessages(request.system, request.messages),
      ...(request.tools?.length ? { tools: openAiTools(request) } : {}),
      [options.maxTokensField]: request.maxTokens,
      stream: true,
      stream_options: { include_usage: true },
    };
    stream = await client.chat.completions.create(body, { signal, maxRetries: 0 });
  } catch (error) {
    if (signal.aborted) return;
    throw classifyOpenAiError(error, options.name);
  }
  emit({ type: 'start', inputTokens: null });
  let stopReason: string | null = null;
  let usage: { inputTokens: number; outputTokens: number } | null = null;
  const toolCalls = new OpenAiToolCalls();
  try {
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice) {
        const text = choice.delta?.content;
        if (text) emit({ type: 'delta', text });
        toolCalls.add(choice.delta?.tool_calls);
        if (choice.finish_reason) stopReason = choice.finish_reason;
      }
      if (chunk.usage) {
        usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
      }
    }
  } catch {
    if (signal.aborted) return;
    throw openAiMidStreamFailure(options.name);
  }
  if (signal.aborted) return;
  if (!usage) throw openAiMidStreamFailure(options.name);
  for (const call of toolCalls.finish()) emit({ type: 'tool_call', call });
  emit({ type: 'done', stopReason, ...usage });
}
