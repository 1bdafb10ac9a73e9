import type { MessageCreateParamsStreaming, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { ProviderEventSink, ProviderRequest } from '../provider-stream';
import { abortingOn } from '../node-http-fetch';
import { readSseBody, SseParser } from '../sse-reader';
import { classifyAnthropicError, midStreamFailure } from './anthropic-errors';
import type { AnthropicKeyClient } from './anthropic-key-client';
import { anthropicMessages, anthropicTools, AnthropicToolUse } from './anthropic-tool-use';
import { plainTextDelta } from './plain-text-delta';

/**
 * One streamed Messages API call, its events handed to `emit` as they arrive. Resolves when the
 * stream ends. Aborting `signal` closes the upstream socket at once; the call then simply resolves
 * (the caller knows it aborted).
 *
 * The SDK makes the request (headers, base URL, errors before the answer), but its body is parsed
 * here (SseParser: no promise or iterator step per event; a plain text delta's text is read
 * without JSON.parse, any other event is parsed).
 * Failures are thrown as UpstreamFailure: classified by HTTP status until the response starts,
 * UPSTREAM_ERROR after it has (docs/api.md: an `error` event mid-stream, a truncated stream).
 */
export async function streamAnthropic(
  client: AnthropicKeyClient,
  request: ProviderRequest,
  signal: AbortSignal,
  emit: ProviderEventSink,
  sendAfter?: Promise<void>,
): Promise<void> {
  let inputTokens = 0;
  let outputTokens = 0;
  let stopReason: string | null = null;
  let finished = false;
  let response: Response;
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
    // would put unstructured lines in the log stream. Same endpoint, headers and error mapping;
    // asResponse() hands back the answer (once it is a 200) with its body unread.
    // `signal` goes to node-http-fetch directly (abortingOn), not through the SDK's per-request wiring.
    response = await client
      .post('/v1/messages', { body, stream: true, maxRetries: 0, fetchOptions: abortingOn(signal, sendAfter) })
      .asResponse();
  } catch (error) {
    if (signal.aborted) return;
    throw classifyAnthropicError(error);
  }
  // As the SDK: events are told apart by their SSE name; `ping` and unknown names are skipped.
  const parser = new SseParser((name, data) => {
    switch (name) {
      case 'message_start': {
        const event = JSON.parse(data) as Extract<RawMessageStreamEvent, { type: 'message_start' }>;
        inputTokens = event.message.usage.input_tokens;
        outputTokens = event.message.usage.output_tokens;
        emit({ type: 'start', inputTokens });
        break;
      }
      case 'content_block_delta': {
        const plain = plainTextDelta(data);
        if (plain !== null) {
          if (plain) emit({ type: 'delta', text: plain });
          break;
        }
        const event = JSON.parse(data) as Extract<RawMessageStreamEvent, { type: 'content_block_delta' }>;
        if (event.delta.type === 'text_delta') {
          if (event.delta.text) emit({ type: 'delta', text: event.delta.text });
        } else toolUse.delta(event);
        break;
      }
      case 'message_delta': {
        const event = JSON.parse(data) as Extract<RawMessageStreamEvent, { type: 'message_delta' }>;
        stopReason = event.delta.stop_reason;
        outputTokens = event.usage.output_tokens;
        if (typeof event.usage.input_tokens === 'number') inputTokens = event.usage.input_tokens;
        break;
      }
      case 'message_stop':
        finished = true;
        break;
      case 'content_block_start':
        toolUse.start(JSON.parse(data) as Extract<RawMessageStreamEvent, { type: 'content_block_start' }>);
        break;
      case 'content_block_stop': {
        const event = JSON.parse(data) as Extract<RawMessageStreamEvent, { type: 'content_block_stop' }>;
        const call = toolUse.stop(event.index);
        if (call) emit({ type: 'tool_call', call });
        break;
      }
      case 'error':
        // The response had started (200). The event's type (usually overloaded_error) must not
        // make it look like a 429/529 answer that was retried.
        throw midStreamFailure();
    }
  });
  try {
    await readSseBody(response.body, parser);
  } catch {
    if (signal.aborted) return;
    // An `error` event, a cut connection or an unparseable event, mid-stream.
    throw midStreamFailure();
  }
  if (signal.aborted) return;
  if (!finished) throw midStreamFailure();
  emit({ type: 'done', stopReason, inputTokens, outputTokens });
}
