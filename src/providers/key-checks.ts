import { checkAnthropicKey } from './anthropic/anthropic-key-check';
import { checkGitHubKey } from './github/github-key-check';
import { checkLinearKey } from './linear/linear-key-check';
import { checkOpenAiKey, checkOpenRouterKey } from './openai/openai-key-check';

/** What a provider said about a key it accepted; nothing here is secret. */
export interface KeyCheckPass {
  /** The token's scopes as the provider reported them (GitHub's `X-OAuth-Scopes`); absent when it reports none. */
  scopes?: string[];
  /** The key is accepted but limited to some endpoints (an OpenAI restricted key answering 403). */
  restricted?: boolean;
}

/**
 * Asks a provider whether a key is accepted, without spending money. Resolves on acceptance;
 * throws INVALID_PROVIDER_KEY when the provider rejects the key and UPSTREAM_ERROR when it
 * cannot tell (network failure, rate limit, another status). Messages never contain the key.
 */
export type KeyCheck = (apiKey: string) => Promise<KeyCheckPass>;

/** Every provider a key can be stored for, and its live check; null: none yet (format check only). */
export interface KeyCheckRegistry {
  readonly ANTHROPIC: KeyCheck | null;
  readonly OPENAI: KeyCheck | null;
  readonly OPENROUTER: KeyCheck | null;
  readonly GITHUB: KeyCheck | null;
  readonly LINEAR: KeyCheck | null;
}

export interface KeyCheckOptions {
  anthropicBaseUrl?: string;
  openAiBaseUrl?: string;
  openRouterBaseUrl?: string;
  /** Sent to OpenRouter as `HTTP-Referer`. */
  openRouterAppUrl?: string;
  githubApiUrl: string;
  linearApiUrl: string;
  timeoutMs?: number;
}

export function createKeyChecks(options: KeyCheckOptions): KeyCheckRegistry {
  const timeoutMs = options.timeoutMs;
  return {
    ANTHROPIC: async (apiKey) => {
      await checkAnthropicKey(apiKey, { baseURL: options.anthropicBaseUrl, timeoutMs });
      return {};
    },
    OPENAI: (apiKey) => checkOpenAiKey(apiKey, { baseURL: options.openAiBaseUrl, timeoutMs }),
    OPENROUTER: (apiKey) =>
      checkOpenRouterKey(apiKey, { baseURL: options.openRouterBaseUrl, appUrl: options.openRouterAppUrl, timeoutMs }),
    GITHUB: (apiKey) => checkGitHubKey(apiKey, { apiUrl: options.githubApiUrl, timeoutMs }),
    LINEAR: (apiKey) => checkLinearKey(apiKey, { apiUrl: options.linearApiUrl, timeoutMs }),
  };
}
