import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultReplyTokens, estimateInputTokens } from '../anthropic/request';
import { ScriptedUpstreamServer, type ScriptedExchange } from '../scripted-upstream';
import type { JsonObject } from '../anthropic/types';
import { decideToolScript, echoResults, jsonFragments, wordTokens, type ScriptedResult } from '../tool-script';
import type {
  Behaviour,
  DropConnectionBehaviour,
  ErrorEventBehaviour,
  HttpErrorBehaviour,
  OpenAiServer,
  OpenAiServerMode,
  RecordedRequest,
  StreamBehaviour,
} from './types';

/**
 * A local OpenAI Chat Completions API (or OpenRouter's, in `openrouter` mode) for the real `openai`
 * SDK: POST /chat/completions streaming as the real APIs do (each SSE event written on its own,
 * `usage: null` on every chunk, the usage chunk with empty `choices` when asked for, `data: [DONE]`),
 * JSON error bodies with their statuses and headers, GET /models, and OpenRouter's GET /key,
 * `: OPENROUTER PROCESSING` comments and in-stream `error` events. Every request is recorded.
 */
export async function startOpenAiServer(mode: OpenAiServerMode = 'openai'): Promise<OpenAiServer> {
  const server = new FakeOpenAiServer(mode);
  await server.listen();
  return server;
}

const DEFAULT_BEHAVIOUR: Behaviour = { kind: 'stream' };
const MODELS = ['gpt-5-mini', 'gpt-4.1-mini', 'gpt-4.1'];
/** OpenAI answers 400 for `max_tokens` on its reasoning models (they take `max_completion_tokens`). */
const REJECTS_MAX_TOKENS = /^(gpt-5|o\d)/;

type Exchange = ScriptedExchange<RecordedRequest>;

/** The key each mode's real API accepts by default. */
const acceptsKey = (mode: OpenAiServerMode) => (key: string) =>
  mode === 'openai' ? key.startsWith('sk-') && !key.startsWith('sk-or-') : key.startsWith('sk-or-');

class FakeOpenAiServer extends ScriptedUpstreamServer<Behaviour, RecordedRequest> implements OpenAiServer {
  constructor(readonly mode: OpenAiServerMode) {
    super(DEFAULT_BEHAVIOUR, acceptsKey(mode), mode === 'openai' ? '/v1' : '/api/v1');
  }

  protected async serve(ex: Exchange): Promise<void> {
    const { record } = ex;
    const path = record.path.startsWith(this.rootPath) ? record.path.slice(this.rootPath.length) : undefined;
    const route = `${record.method} ${path}`;
    if (route === 'GET /models' && this.mode === 'openrouter') return this.sendJson(ex, 200, this.modelList());
    if (
      !['POST /chat/completions', 'GET /models', 'GET /key'].includes(route) ||
      (route === `GET /key` && this.mode === 'openai')
    ) {
      return this.sendError(ex, 404, 'Not found');
    }
    if (!this.authorize(ex)) return;
    if (route === 'GET /models') return this.sendJson(ex, 200, this.modelList());
    if (route === 'GET /key') return this.sendJson(ex, 200, keyInfo(record.apiKey!));
    const problem = this.bodyProblem(record.body);
    if (problem) return this.sendError(ex, 400, problem);
    await this.respond(ex, record.body!, this.nextBehaviour(record));
  }

  /** 401 for a missing or unknown key, 403 for a key marked restricted; true when accepted. */
  private authorize(ex: Exchange): boolean {
    const key = ex.record.apiKey;
    const rejectedWith = key === undefined ? 401 : this.rejectedKeys.get(key);
    if (rejectedWith === 403) {
      this.sendError(ex, 403, 'You have insufficient permissions for this operation.');
      return false;
    }
    if (rejectedWith === 401 || !this.keyPredicate(key!)) {
      this.sendError(
        ex,
        401,
        this.mode === 'openai' ? 'Incorrect API key provided.' : 'No auth credentials found',
        {},
        'invalid_api_key',
      );
      return false;
    }
    return true;
  }

  /** What the real API rejects with 400 before generating. */
  private bodyProblem(body: JsonObject | undefined): string | undefined {
    if (!body) return 'We could not parse the JSON body of your request.';
    if (typeof body.model !== 'string' || !body.model) return 'you must provide a model parameter';
    if (!Array.isArray(body.messages) || body.messages.length === 0)
      return "'messages' must contain at least one message";
    const messages = body.messages as JsonObject[];
    for (const [index, message] of messages.entries()) {
      if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(String(message?.role))) {
        return 'Invalid message role';
      }
      const toolCalls = message.role === 'assistant' && Array.isArray(message.tool_calls) ? message.tool_calls : [];
      if (typeof message.content !== 'string' && !(toolCalls.length > 0 && message.content === null)) {
        return 'Invalid message content';
      }
      if (message.role === 'tool' && typeof message.tool_call_id !== 'string') return "Missing 'tool_call_id'";
      // As the real API: every tool call is answered by a `tool` message before the next other message.
      const answered = new Set<unknown>();
      for (const next of messages.slice(index + 1)) {
        if (next.role !== 'tool') break;
        answered.add(next.tool_call_id);
      }
      for (const call of toolCalls as JsonObject[]) {
        if (!answered.has(call.id)) {
          return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${String(call.id)}`;
        }
      }
    }
    if (this.mode === 'openai' && body.max_tokens !== undefined && REJECTS_MAX_TOKENS.test(body.model)) {
      return "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.";
    }
    return undefined;
  }

  private async respond(ex: Exchange, body: JsonObject, behaviour: Behaviour): Promise<void> {
    ex.record.behaviour = behaviour;
    switch (behaviour.kind) {
      case 'http-error':
        return this.httpError(ex, behaviour);
      case 'hang':
        return;
      case 'drop-connection':
        if (behaviour.afterTokens === 'before-headers') {
          ex.res.socket?.destroy();
          return;
        }
        return this.stream(ex, body, behaviour);
      case 'stream':
      case 'error-event-mid-stream':
        return this.stream(ex, body, behaviour);
    }
  }

  private httpError(ex: Exchange, behaviour: HttpErrorBehaviour): void {
    const headers: OutgoingHttpHeaders = { ...behaviour.headers };
    if (behaviour.retryAfterSeconds !== undefined) headers['retry-after'] = String(behaviour.retryAfterSeconds);
    const message = behaviour.message ?? defaultMessage(behaviour.status);
    this.sendError(ex, behaviour.status, message, headers);
  }

  private async stream(
    ex: Exchange,
    body: JsonObject,
    behaviour: StreamBehaviour | ErrorEventBehaviour | DropConnectionBehaviour,
  ): Promise<void> {
    const { res, record, closed } = ex;
    const script =
      behaviour.tokens === undefined && behaviour.kind === 'stream'
        ? decideToolScript(latestUserText(body), endingToolResults(body), 'call_')
        : ({ kind: 'none' } as const);
    const tokens =
      script.kind === 'calls'
        ? wordTokens(script.text)
        : script.kind === 'results'
          ? wordTokens(echoResults(script.results))
          : (behaviour.tokens ?? defaultReplyTokens(body));
    const includeUsage = (body.stream_options as JsonObject | undefined)?.include_usage === true;
    const id = `chatcmpl-${randomBytes(12).toString('base64url')}`;
    const created = Math.floor(Date.now() / 1000);
    const model = String(body.model);
    const chunk = (choices: unknown[], extra: JsonObject = {}) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: null,
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
    const choice = (delta: JsonObject, finishReason: string | null = null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finishReason,
    });
    const write = (text: string) => {
      if (!closed.aborted) res.write(text);
    };
    const data = (payload: unknown) => write(`data: ${JSON.stringify(payload)}\n\n`);

    record.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': record.requestId,
    });
    res.flushHeaders();
    if (this.mode === 'openrouter') write(': OPENROUTER PROCESSING\n\n');
    data(chunk([choice({ role: 'assistant', content: '', refusal: null })]));

    // drop-connection never has 'before-headers' here: respond() handled it.
    const stopAfter = behaviour.kind === 'stream' ? behaviour.stallAfter : (behaviour.afterTokens as number);
    const delayMs = behaviour.kind === 'drop-connection' ? 0 : (behaviour.delayMs ?? 0);
    for (const [index, token] of tokens.entries()) {
      if (stopAfter !== undefined && index >= stopAfter) break;
      if (delayMs) await sleep(delayMs);
      if (closed.aborted) return;
      if (this.mode === 'openrouter' && index === 1) write(': OPENROUTER PROCESSING\n\n');
      data(chunk([choice({ content: token })]));
      record.tokensSent++;
    }
    if (closed.aborted) return;

    if (behaviour.kind === 'stream' && behaviour.stallAfter !== undefined && behaviour.stallAfter < tokens.length) {
      return; // stalled: the record closes when the client aborts
    }
    if (behaviour.kind === 'error-event-mid-stream') {
      data(
        chunk([choice({ content: '' }, 'error')], {
          error: { code: behaviour.code ?? 502, message: behaviour.message ?? 'Provider returned error' },
        }),
      );
      res.end();
      return;
    }
    if (behaviour.kind === 'drop-connection' && (behaviour.afterTokens as number) < tokens.length) {
      destroyAfterFlush(res);
      return;
    }
    if (script.kind === 'calls') {
      // As the real API: the first delta of each call carries its id and name, later ones argument fragments.
      script.calls.forEach((call, index) => {
        data(
          chunk([
            choice({
              tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
            }),
          ]),
        );
        for (const fragment of jsonFragments(call.json)) {
          data(chunk([choice({ tool_calls: [{ index, function: { arguments: fragment } }] })]));
          record.tokensSent++;
        }
      });
    }
    const finishReason =
      script.kind === 'calls'
        ? 'tool_calls'
        : behaviour.kind === 'stream'
          ? (behaviour.finishReason ?? 'stop')
          : 'stop';
    data(chunk([choice({}, finishReason)]));
    if (behaviour.kind === 'drop-connection') {
      destroyAfterFlush(res);
      return;
    }
    if (includeUsage && !(behaviour.kind === 'stream' && behaviour.omitUsage)) {
      const promptTokens = behaviour.promptTokens ?? estimateInputTokens(body);
      const completionTokens = behaviour.completionTokens ?? record.tokensSent;
      data(
        chunk([], {
          usage: {
            prompt_tokens: promptTokens,
            completion_tokens: completionTokens,
            total_tokens: promptTokens + completionTokens,
          },
        }),
      );
    }
    write('data: [DONE]\n\n');
    res.end();
  }

  private modelList(): JsonObject {
    return {
      object: 'list',
      data: MODELS.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' })),
    };
  }

  private sendJson(ex: Exchange, status: number, payload: unknown, headers: OutgoingHttpHeaders = {}): void {
    const text = JSON.stringify(payload);
    ex.record.status = status;
    ex.res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-request-id': ex.record.requestId,
      ...headers,
    });
    ex.res.end(text);
  }

  /** OpenAI: `{error: {message, type, param, code}}`; OpenRouter: `{error: {code: <status>, message}}`. */
  private sendError(
    ex: Exchange,
    status: number,
    message: string,
    headers: OutgoingHttpHeaders = {},
    code?: string,
  ): void {
    const error =
      this.mode === 'openai'
        ? { message, type: openAiErrorType(status), param: null, code: code ?? null }
        : { code: status, message };
    this.sendJson(ex, status, { error }, headers);
  }
}

/** Cuts the connection once what was written has reached the socket, so the client sees those events first. */
function destroyAfterFlush(res: ServerResponse): void {
  res.write('', () => res.socket?.destroy());
}

function openAiErrorType(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function defaultMessage(status: number): string {
  if (status === 429) return 'Rate limit reached for requests';
  if (status === 402) return 'Insufficient credits';
  if (status >= 500) return 'The server had an error while processing your request.';
  return 'Bad request';
}

/** OpenRouter's GET /api/v1/key answer. */
function keyInfo(key: string): JsonObject {
  return {
    data: {
      label: `${key.slice(0, 8)}...${key.slice(-3)}`,
      limit: null,
      usage: 0,
      is_free_tier: false,
      limit_remaining: null,
    },
  };
}

/** Text of the latest user message. */
function latestUserText(body: JsonObject): string {
  const messages = body.messages as JsonObject[];
  const last = [...messages].reverse().find((message) => message.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

/** The `tool` messages the conversation ends with, or null when it does not end with any. */
function endingToolResults(body: JsonObject): ScriptedResult[] | null {
  const messages = body.messages as JsonObject[];
  const results: ScriptedResult[] = [];
  for (const message of [...messages].reverse()) {
    if (message.role !== 'tool') break;
    results.unshift({ output: String(message.content), isError: false });
  }
  return results.length ? results : null;
}
