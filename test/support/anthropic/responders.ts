import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultReplyTokens, endingToolResults, estimateInputTokens, latestUserText } from './request';
import {
  decideToolScript,
  echoResults,
  jsonFragments,
  wordTokens,
  type ScriptedCall,
  type ToolScript,
} from '../tool-script';
import type {
  Behaviour,
  DropConnectionBehaviour,
  ErrorEventBehaviour,
  HttpErrorBehaviour,
  JsonObject,
  RecordedRequest,
  StreamBehaviour,
} from './types';
import {
  defaultErrorMessage,
  errorBody,
  errorTypeForStatus,
  makeId,
  messageObject,
  sseEvent,
  statusForErrorType,
  streamEvents,
} from './wire';

/** A request being answered; `closed` aborts when the response closes, so pending writes stop. */
export interface Exchange {
  res: ServerResponse;
  record: RecordedRequest;
  closed: AbortSignal;
}

/** A validated /v1/messages request. */
export interface MessagesExchange extends Exchange {
  body: JsonObject & { model: string; stream?: boolean };
}

export function sendJson(ex: Exchange, status: number, payload: unknown, headers: OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(payload);
  ex.record.status = status;
  ex.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': ex.record.requestId,
    ...headers,
  });
  ex.res.end(text);
}

export function sendError(
  ex: Exchange,
  status: number,
  type: string,
  message: string,
  headers: OutgoingHttpHeaders = {},
  details?: Record<string, unknown>,
): void {
  sendJson(ex, status, errorBody(type, message, ex.record.requestId, details), headers);
}

export async function respond(ex: MessagesExchange, behaviour: Behaviour): Promise<void> {
  ex.record.behaviour = behaviour;
  switch (behaviour.kind) {
    case 'stream':
      return ex.body.stream === true ? streamReply(ex, behaviour) : jsonReply(ex, behaviour);
    case 'http-error':
      return httpError(ex, behaviour);
    case 'error-event-mid-stream':
      return errorMidStream(ex, behaviour);
    case 'drop-connection':
      return dropConnection(ex, behaviour);
    case 'hang':
      return;
  }
}

/** How long a stalled stream waits for its client to go away: far beyond any test's patience. */
const STALL_MS = 10 * 60_000;

/** Waits `ms`; false when the response closed meanwhile. */
async function pause(ex: Exchange, ms: number | undefined): Promise<boolean> {
  if (ms && ms > 0) {
    try {
      await sleep(ms, undefined, { signal: ex.closed });
    } catch {
      return false;
    }
  }
  return !ex.closed.aborted;
}

/**
 * Writes `chunk` and resolves once it has been handed to the socket, so that a later `destroy()` cannot
 * discard it; false if the response closed first.
 */
function send(ex: Exchange, chunk: string): Promise<boolean> {
  if (ex.closed.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => resolve(false);
    ex.closed.addEventListener('abort', onClose, { once: true });
    ex.res.write(chunk, (error) => {
      ex.closed.removeEventListener('abort', onClose);
      resolve(!error && !ex.closed.aborted);
    });
  });
}

/** Sends the headers and the events before the first delta; false if the client went away. */
function startStream(ex: MessagesExchange, inputTokens: number | undefined): Promise<boolean> {
  ex.record.status = 200;
  ex.res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'request-id': ex.record.requestId,
  });
  const start = streamEvents.messageStart({
    id: makeId('msg'),
    model: ex.body.model,
    text: undefined,
    stopReason: null,
    usage: { inputTokens: inputTokens ?? estimateInputTokens(ex.body), outputTokens: 1 },
  });
  return send(ex, start + streamEvents.contentBlockStart() + streamEvents.ping());
}

/** Writes up to `count` deltas, pausing before each; false if the client went away. */
async function writeDeltas(
  ex: Exchange,
  tokens: string[],
  count: number,
  delayMs: number | undefined,
): Promise<boolean> {
  for (const token of tokens.slice(0, count)) {
    if (!(await pause(ex, delayMs))) return false;
    if (!(await send(ex, streamEvents.textDelta(token)))) return false;
    ex.record.tokensSent += 1;
  }
  return true;
}

/** The tool use the conversation scripts (../tool-script.ts); only when the behaviour names no tokens of its own. */
function toolScriptOf(ex: MessagesExchange, b: StreamBehaviour): ToolScript {
  if (b.tokens !== undefined) return { kind: 'none' };
  return decideToolScript(latestUserText(ex.body), endingToolResults(ex.body), 'toolu_01');
}

async function streamReply(ex: MessagesExchange, b: StreamBehaviour): Promise<void> {
  const script = toolScriptOf(ex, b);
  if (script.kind === 'calls') return streamToolUse(ex, b, script.text, script.calls);
  const tokens =
    b.tokens ?? (script.kind === 'results' ? wordTokens(echoResults(script.results)) : defaultReplyTokens(ex.body));
  if (!(await startStream(ex, b.inputTokens))) return;
  if (!(await writeDeltas(ex, tokens, b.stallAfter ?? tokens.length, b.delayMs))) return;
  if (b.stallAfter !== undefined) {
    await pause(ex, STALL_MS);
    return;
  }
  ex.res.write(streamEvents.contentBlockStop());
  ex.res.write(streamEvents.messageDelta(b.stopReason ?? 'end_turn', b.outputTokens ?? tokens.length));
  ex.res.end(streamEvents.messageStop());
}

async function jsonReply(ex: MessagesExchange, b: StreamBehaviour): Promise<void> {
  const tokens = b.tokens ?? defaultReplyTokens(ex.body);
  if (!(await pause(ex, (b.delayMs ?? 0) * tokens.length))) return;
  const message = messageObject({
    id: makeId('msg'),
    model: ex.body.model,
    text: tokens.join(''),
    stopReason: b.stopReason ?? 'end_turn',
    usage: {
      inputTokens: b.inputTokens ?? estimateInputTokens(ex.body),
      outputTokens: b.outputTokens ?? tokens.length,
    },
  });
  sendJson(ex, 200, message);
}

function httpError(ex: Exchange, b: HttpErrorBehaviour): void {
  const type = b.errorType ?? errorTypeForStatus(b.status);
  const headers: OutgoingHttpHeaders = { ...b.headers };
  if (b.retryAfterSeconds !== undefined) headers['retry-after'] = String(b.retryAfterSeconds);
  if (b.retryAfterMs !== undefined) headers['retry-after-ms'] = String(b.retryAfterMs);
  if (b.shouldRetry !== undefined) headers['x-should-retry'] = String(b.shouldRetry);
  sendError(ex, b.status, type, b.message ?? defaultErrorMessage(type), headers, b.details);
}

async function errorMidStream(ex: MessagesExchange, b: ErrorEventBehaviour): Promise<void> {
  const type = b.errorType ?? 'overloaded_error';
  const message = b.message ?? defaultErrorMessage(type);
  if (ex.body.stream !== true) {
    if (await pause(ex, (b.delayMs ?? 0) * b.afterTokens)) sendError(ex, statusForErrorType(type), type, message);
    return;
  }
  if (!(await startStream(ex, undefined))) return;
  if (!(await writeDeltas(ex, b.tokens ?? defaultReplyTokens(ex.body), b.afterTokens, b.delayMs))) return;
  ex.res.end(streamEvents.error(type, message, ex.record.requestId));
}

async function dropConnection(ex: MessagesExchange, b: DropConnectionBehaviour): Promise<void> {
  // A non-streaming request has no body to cut into, so it always loses the connection before headers.
  if (b.afterTokens !== 'before-headers' && ex.body.stream === true) {
    if (!(await startStream(ex, undefined))) return;
    if (!(await writeDeltas(ex, b.tokens ?? defaultReplyTokens(ex.body), b.afterTokens, b.delayMs))) return;
  }
  ex.res.socket?.destroy();
}

/**
 * A reply that asks for tools, streamed as the real API does: the text block, then one tool_use
 * block per call (content_block_start with an empty input, its input JSON in input_json_delta
 * fragments, content_block_stop), then stop_reason `tool_use`.
 */
async function streamToolUse(
  ex: MessagesExchange,
  b: StreamBehaviour,
  text: string,
  calls: ScriptedCall[],
): Promise<void> {
  const tokens = wordTokens(text);
  if (!(await startStream(ex, b.inputTokens))) return;
  if (!(await writeDeltas(ex, tokens, tokens.length, b.delayMs))) return;
  let events = streamEvents.contentBlockStop();
  let outputTokens = tokens.length;
  calls.forEach((call, position) => {
    const index = position + 1;
    events += sseEvent('content_block_start', {
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
    });
    for (const fragment of jsonFragments(call.json)) {
      events += sseEvent('content_block_delta', {
        type: 'content_block_delta',
        index,
        delta: { type: 'input_json_delta', partial_json: fragment },
      });
      outputTokens++;
    }
    events += sseEvent('content_block_stop', { type: 'content_block_stop', index });
  });
  if (!(await send(ex, events))) return;
  ex.res.write(streamEvents.messageDelta('tool_use', b.outputTokens ?? outputTokens));
  ex.res.end(streamEvents.messageStop());
}
