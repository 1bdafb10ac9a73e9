import { randomBytes } from 'node:crypto';
import type { ApiErrorType, JsonObject, StopReason } from './types';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Ids shaped like the API's (`req_011CS...`, `msg_01...`): a prefix and 24 base62 characters. */
export function makeId(prefix: 'req' | 'msg'): string {
  const bytes = randomBytes(24);
  let id = '';
  for (const byte of bytes) id += BASE62[byte % 62];
  return `${prefix}_01${id}`;
}

export interface ApiErrorBody {
  type: 'error';
  error: { type: string; message: string; details?: Record<string, unknown> };
  request_id?: string;
}

export function errorBody(
  type: string,
  message: string,
  requestId: string,
  details?: Record<string, unknown>,
): ApiErrorBody {
  return { type: 'error', error: { type, message, ...(details ? { details } : {}) }, request_id: requestId };
}

/** The error type the API answers with for each status. */
export function errorTypeForStatus(status: number): ApiErrorType {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export function statusForErrorType(type: string): number {
  const byType: Record<string, number> = {
    invalid_request_error: 400,
    authentication_error: 401,
    billing_error: 402,
    permission_error: 403,
    not_found_error: 404,
    request_too_large: 413,
    rate_limit_error: 429,
    api_error: 500,
    timeout_error: 504,
    overloaded_error: 529,
  };
  return byType[type] ?? 500;
}

export function defaultErrorMessage(type: string): string {
  const messages: Record<string, string> = {
    invalid_request_error: 'Invalid request',
    authentication_error: 'invalid x-api-key',
    billing_error: 'Your credit balance is too low to access the Anthropic API.',
    permission_error: 'Your API key does not have permission to use the specified resource.',
    not_found_error: 'Not found',
    request_too_large: 'Request exceeds the maximum allowed number of bytes.',
    rate_limit_error: 'Number of request tokens has exceeded your per-minute rate limit',
    api_error: 'Internal server error',
    timeout_error: 'Request timed out',
    overloaded_error: 'Overloaded',
  };
  return messages[type] ?? 'Error';
}

export interface UsageNumbers {
  inputTokens: number;
  outputTokens: number;
}

function usage({ inputTokens, outputTokens }: UsageNumbers): JsonObject {
  return {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

export interface MessageFields {
  id: string;
  model: string;
  text: string | undefined;
  stopReason: StopReason | null;
  usage: UsageNumbers;
}

/** A `Message` object; `text: undefined` gives the empty `content` of `message_start`. */
export function messageObject(fields: MessageFields): JsonObject {
  return {
    id: fields.id,
    type: 'message',
    role: 'assistant',
    model: fields.model,
    content: fields.text === undefined ? [] : [{ type: 'text', text: fields.text, citations: null }],
    stop_reason: fields.stopReason,
    stop_sequence: null,
    stop_details: null,
    container: null,
    usage: usage(fields.usage),
  };
}

/** One server-sent event in the API's framing: `event: <name>\ndata: <json>\n\n`. */
export function sseEvent(name: string, data: JsonObject): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const streamEvents = {
  messageStart: (fields: MessageFields) =>
    sseEvent('message_start', {
      type: 'message_start',
      // The real API reports output_tokens as 1 before the first delta.
      message: messageObject({
        ...fields,
        text: undefined,
        stopReason: null,
        usage: { ...fields.usage, outputTokens: 1 },
      }),
    }),
  contentBlockStart: () =>
    sseEvent('content_block_start', {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'text', text: '', citations: null },
    }),
  ping: () => sseEvent('ping', { type: 'ping' }),
  textDelta: (text: string) =>
    sseEvent('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
  contentBlockStop: () => sseEvent('content_block_stop', { type: 'content_block_stop', index: 0 }),
  messageDelta: (stopReason: StopReason, outputTokens: number) =>
    sseEvent('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: null, stop_details: null },
      usage: { output_tokens: outputTokens },
    }),
  messageStop: () => sseEvent('message_stop', { type: 'message_stop' }),
  error: (type: string, message: string, requestId: string) =>
    sseEvent('error', { ...errorBody(type, message, requestId) }),
};

export const DEFAULT_MODELS = ['claude-opus-5-5', 'claude-sonnet-5-5', 'claude-haiku-5-5', 'claude-sonnet-4-6'];

export function modelInfo(id: string, index: number): JsonObject {
  const line = ['haiku', 'sonnet', 'opus'].find((name) => id.includes(name)) ?? null;
  return {
    type: 'model',
    id,
    display_name: id.replace(/^claude-/, 'Claude ').replace(/-/g, ' '),
    // Newest first, as the API lists them.
    created_at: new Date(Date.UTC(2026, 0, 1) - index * 86_400_000).toISOString(),
    capabilities: null,
    deprecated_at: null,
    retires_at: null,
    lifecycle: 'active',
    line,
    max_input_tokens: 200_000,
    max_tokens: 64_000,
  };
}

/** A page of `GET /v1/models` honouring `limit`, `after_id` and `before_id` like the real endpoint. */
export function modelsPage(models: string[], query: URLSearchParams): JsonObject {
  const limit = Math.min(Math.max(Number(query.get('limit') ?? 20) || 20, 1), 1000);
  const all = models.map(modelInfo);
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  let page: JsonObject[];
  let hasMore: boolean;
  if (beforeId) {
    const end = Math.max(models.indexOf(beforeId), 0);
    page = all.slice(Math.max(end - limit, 0), end);
    hasMore = end - limit > 0;
  } else {
    const start = afterId ? models.indexOf(afterId) + 1 : 0;
    page = all.slice(start, start + limit);
    hasMore = start + limit < all.length;
  }
  return {
    data: page,
    has_more: hasMore,
    first_id: (page[0]?.id as string | undefined) ?? null,
    last_id: (page[page.length - 1]?.id as string | undefined) ?? null,
  };
}
