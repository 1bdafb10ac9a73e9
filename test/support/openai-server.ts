/**
 * A local stand-in for the OpenAI Chat Completions API, or OpenRouter's (`startOpenAiServer('openrouter')`),
 * that the real `openai` SDK talks to via `baseURL`. See ./openai/types.ts for the behaviours and records.
 */
export { startOpenAiServer } from './openai/server';
export type {
  Behaviour as OpenAiBehaviour,
  OpenAiServer,
  OpenAiServerMode,
  RecordedRequest as OpenAiRecordedRequest,
} from './openai/types';
