import type Anthropic from '@anthropic-ai/sdk';
import type { Stream } from '@anthropic-ai/sdk/streaming';
import type { MessageCreateParamsStreaming, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { ProviderEventSink, ProviderRequest } from '../provider-stream';
import { classifyAnthropicError, midStreamFailure } from './anthropic-errors';
import { anthropicMessages, anthropicTools, AnthropicToolUse } from './anthropic-tool-use';

/**
 * One streamed Messages API call, its events handed to `emit` as they arrive (a callback rather
 * than an async generator: one layer of promises less for every token). Resolves when the stream
 * ends. Aborting `signal` closes the upstream socket at once; the call then simply resolves (the
 * caller knows it aborted).
 * Failures are thrown as UpstreamFailure: classified by HTTP status until the response starts,
 * UPSTREAM_ERROR after it has (docs/api.md: an `error` event mid-stream, a truncated stream).
 */
export async function streamAnthropic(
  client: Anthropic,
  request: ProviderRequest,
  signal: AbortSignal,
  emit: ProviderEventSink,
): Promise<void> {
  let inputTokens = 0;
  let outputTokens = 0;
  let stopReason: string | null = null;
  let finished = false;
  let stream: Stream<RawMessageStreamEvent>;
  const toolUse = new AnthropicToolUse();
  try {
    const body: MessageCreateParamsStreaming = {
      model: request.model,
      max_tokens: request.maxTokens,
      ...(request.system ? { system: request.system } : {}),
      messages: anthropicMessages(request.messages),
      ...(request.tools?.length ? { tools: anthropicTools(request) } : {}),
      stream: true,
    };
    // The SDK's own low-level call rather than messages.create, which console.warn()s on every
    // request for a model Anthropic has deprecated (claude-sonnet-4-5, claude-opus-4-5): that
    // would put unstructured lines in the log stream. Same endpoint, headers, retries and parser.
    stream = await client.post<Stream<RawMessageStreamEvent>>('/v1/messages', {
      body,
      stream: true,
      signal,
      maxRetries: 0,
    });
  } catch (error) {
    if (signal.aborted) return;
    throw classifyAnthropicError(error);
  }
  try {
    for await (const event of stream) {
      switch (event.type) {
        case 'message_start':
          inputTokens = event.message.usage.input_tokens;
          outputTokens = event.message.usage.output_tokens;
          emit({ type: 'start', inputTokens });
          break;
        case 'content_block_delta':
          if (event.delta.type === 'text_delta' && event.delta.text) emit({ type: 'delta', text: event.delta.text });
          else toolUse.delta(event);
          break;
        case 'message_delta':
          stopReason = event.delta.stop_reason;
          outputTokens = event.usage.output_tokens;
          if (typeof event.usage.input_tokens === 'number') inputTokens = event.usage.input_tokens;
          break;
        case 'message_stop':
          finished = true;
          break;
        case 'content_block_start':
          toolUse.start(event);
          break;
        case 'content_block_stop': {
          const call = toolUse.stop(event.index);
          if (call) emit({ type: 'tool_call', call });
          break;
        }
      }
    }
  } catch {
    if (signal.aborted) return;
    // The response had started (200): an `error` event or a cut connection mid-stream. The event's
    // type (usually overloaded_error) must not make it look like a 429/529 answer that was retried.
    throw midStreamFailure();
  }
  if (signal.aborted) return;
  if (!finished) throw midStreamFailure();
  emit({ type: 'done', stopReason, inputTokens, outputTokens });
}
