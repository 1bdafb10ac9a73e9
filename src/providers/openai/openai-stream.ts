import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';
import type { ProviderEventSink, ProviderRequest } from '../provider-stream';
import { abortingOn } from '../node-http-fetch';
import { readSseBody, SseParser } from '../sse-reader';
import { classifyOpenAiError, openAiMidStreamFailure, type OpenAiCompatibleName } from './openai-errors';
import type { OpenAiKeyClient } from './openai-key-client';
import { openAiMessages, OpenAiToolCalls, openAiTools } from './openai-tool-calls';

export interface OpenAiStreamOptions {
  name: OpenAiCompatibleName;
  /**
   * Which body field carries `maxTokens`: OpenAI's current models take only
   * `max_completion_tokens`; OpenRouter documents `max_tokens`.
   */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

/** A chunk as parsed from the wire; OpenRouter reports a failure during generation as `{error}`. */
type WireChunk = ChatCompletionChunk & { error?: unknown };

/**
 * One streamed Chat Completions call with `stream_options.include_usage`, its chunks handed to
 * `emit` as they arrive. Resolves when the stream ends; aborting `signal` closes the upstream
 * socket at once and the call then simply resolves (the caller knows it aborted).
 *
 * The SDK makes the request (headers, base URL, errors before the answer); the body is parsed
 * here as in streamAnthropic (SseParser: no promise or iterator step per event).
 * `start` is emitted when the answer starts, without an input count (the API reports usage only
 * in the last chunk, whose `choices` is empty). A stream counts as finished only once that usage
 * chunk arrived: a stream cut before it (or an OpenRouter `error` data event) is UPSTREAM_ERROR.
 * Failures before the answer are classified by HTTP status.
 */
export async function streamOpenAi(
  client: OpenAiKeyClient,
  request: ProviderRequest,
  signal: AbortSignal,
  emit: ProviderEventSink,
  options: OpenAiStreamOptions,
  sendAfter?: Promise<void>,
): Promise<void> {
  let response: Response;
  try {
    const body: ChatCompletionCreateParamsStreaming = {
      model: request.model,
      messages: openAiMessages(request.system, request.messages),
      ...(request.tools?.length ? { tools: openAiTools(request) } : {}),
      [options.maxTokensField]: request.maxTokens,
      stream: true,
      stream_options: { include_usage: true },
    };
    // `signal` goes to node-http-fetch directly (abortingOn), not through the SDK's per-request wiring.
    response = await client.chat.completions
      .create(body, { maxRetries: 0, fetchOptions: abortingOn(signal, sendAfter) })
      .asResponse();
  } catch (error) {
    if (signal.aborted) return;
    throw classifyOpenAiError(error, options.name);
  }
  emit({ type: 'start', inputTokens: null });
  let stopReason: string | null = null;
  let usage: { inputTokens: number; outputTokens: number } | null = null;
  let done = false;
  const toolCalls = new OpenAiToolCalls();
  // As the SDK: events are read until `[DONE]`; SSE comments (OpenRouter's) are skipped by the parser.
  const parser = new SseParser((_name, data) => {
    if (done) return;
    if (data.startsWith('[DONE]')) {
      done = true;
      return;
    }
    const chunk = JSON.parse(data) as WireChunk;
    if (chunk.error) throw openAiMidStreamFailure(options.name);
    const choice = chunk.choices?.[0];
    if (choice) {
      const { delta } = choice;
      if (delta?.content) emit({ type: 'delta', text: delta.content });
      toolCalls.add(delta?.tool_calls);
      if (choice.finish_reason) stopReason = choice.finish_reason;
    }
    if (chunk.usage) {
      usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
    }
  });
  try {
    await readSseBody(response.body, parser);
  } catch {
    if (signal.aborted) return;
    // A cut connection, an `error` chunk or an unparseable one, mid-stream.
    throw openAiMidStreamFailure(options.name);
  }
  if (signal.aborted) return;
  if (!usage) throw openAiMidStreamFailure(options.name);
  for (const call of toolCalls.finish()) emit({ type: 'tool_call', call });
  emit({ type: 'done', stopReason, ...(usage as { inputTokens: number; outputTokens: number }) });
}
