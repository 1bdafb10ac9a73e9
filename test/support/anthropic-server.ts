/**
 * A local stand-in for the Anthropic Messages API that the real @anthropic-ai/sdk talks to via `baseURL`.
 * See ./anthropic/types.ts for the behaviours a test can inject and what each request records.
 */
export { startAnthropicServer } from './anthropic/server';
export { waitForClose } from './anthropic/recording';
export { defaultReplyTokens, estimateInputTokens, lastUserText } from './anthropic/request';
export type {
  AnthropicServer,
  AnthropicServerOptions,
  ApiErrorType,
  Behaviour,
  BehaviourSource,
  DropConnectionBehaviour,
  ErrorEventBehaviour,
  HangBehaviour,
  HttpErrorBehaviour,
  JsonObject,
  KeyPredicate,
  RecordedRequest,
  StopReason,
  StreamBehaviour,
} from './anthropic/types';
