import { ScriptedUpstreamServer } from '../scripted-upstream';
import { messagesBodyProblem } from './request';
import { respond, sendError, sendJson, type Exchange, type MessagesExchange } from './responders';
import type { AnthropicServer, AnthropicServerOptions, Behaviour, KeyPredicate, RecordedRequest } from './types';
import { DEFAULT_MODELS, modelInfo, modelsPage } from './wire';

const DEFAULT_BEHAVIOUR: Behaviour = { kind: 'stream' };
const acceptAnthropicKeys: KeyPredicate = (key) => key.startsWith('sk-ant-');

export async function startAnthropicServer(options: AnthropicServerOptions = {}): Promise<AnthropicServer> {
  const server = new FakeAnthropicServer(options);
  await server.listen();
  return server;
}

class FakeAnthropicServer extends ScriptedUpstreamServer<Behaviour, RecordedRequest> implements AnthropicServer {
  private readonly models: string[];
  private readonly requireAnthropicVersion: boolean;

  constructor(options: AnthropicServerOptions) {
    super(DEFAULT_BEHAVIOUR, acceptAnthropicKeys);
    this.models = options.models ?? DEFAULT_MODELS;
    this.requireAnthropicVersion = options.requireAnthropicVersion ?? true;
  }

  protected serve(ex: Exchange): Promise<void> | void {
    const { record } = ex;
    const route = this.route(record);
    if (route === 'unknown') return sendError(ex, 404, 'not_found_error', 'Not found');
    if (!this.authorize(ex)) return;
    if (this.requireAnthropicVersion && !record.headers['anthropic-version']) {
      return sendError(ex, 400, 'invalid_request_error', 'anthropic-version: header is required');
    }
    if (route === 'models') return sendJson(ex, 200, modelsPage(this.models, record.query));
    if (route === 'model') return this.retrieveModel(ex);
    return this.createMessage(ex);
  }

  private route(record: RecordedRequest): 'messages' | 'models' | 'model' | 'unknown' {
    if (record.method === 'POST' && record.path === '/v1/messages') return 'messages';
    if (record.method === 'GET' && record.path === '/v1/models') return 'models';
    if (record.method === 'GET' && /^\/v1\/models\/[^/]+$/.test(record.path)) return 'model';
    return 'unknown';
  }

  /** Answers 401/403 and returns false unless the presented key is accepted. */
  private authorize(ex: Exchange): boolean {
    const key = ex.record.apiKey;
    if (key === undefined) {
      sendError(ex, 401, 'authentication_error', 'x-api-key header is required');
      return false;
    }
    const rejectedWith = this.rejectedKeys.get(key);
    if (rejectedWith === 403) {
      sendError(ex, 403, 'permission_error', 'Your API key does not have permission to use the specified resource.');
      return false;
    }
    if (rejectedWith === 401 || !this.keyPredicate(key)) {
      sendError(ex, 401, 'authentication_error', 'invalid x-api-key');
      return false;
    }
    return true;
  }

  private retrieveModel(ex: Exchange): void {
    const id = decodeURIComponent(ex.record.path.slice('/v1/models/'.length));
    const index = this.models.indexOf(id);
    if (index === -1) return sendError(ex, 404, 'not_found_error', `model: ${id}`);
    sendJson(ex, 200, modelInfo(id, index));
  }

  private async createMessage(ex: Exchange): Promise<void> {
    const problem = messagesBodyProblem(ex.record.rawBody, ex.record.body);
    if (problem) return sendError(ex, 400, 'invalid_request_error', problem);
    const messages = { ...ex, body: ex.record.body } as MessagesExchange;
    await respond(messages, this.nextBehaviour(ex.record));
  }
}
