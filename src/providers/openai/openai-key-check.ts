import { APIError, AuthenticationError, PermissionDeniedError } from 'openai/error';
import { ErrorCode, KeywardError } from '../../common/errors';
import { createOpenAiClient } from './openai-clients';
import type { KeyCheckPass } from '../key-checks';
import { DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENROUTER_BASE_URL, openRouterHeaders } from './openai-chat';

export interface OpenAiKeyCheckOptions {
  baseURL?: string;
  /** OpenRouter only: sent as `HTTP-Referer`. */
  appUrl?: string;
  timeoutMs?: number;
}

/**
 * Asks OpenAI whether a key is accepted, with `GET /v1/models` (free of charge). 401 →
 * INVALID_PROVIDER_KEY. A 403 means OpenAI knows the key but it is restricted (a project key
 * without the models permission, or one limited to other endpoints): it counts as valid, since
 * chat may still be allowed, and is reported as restricted. Any other failure → UPSTREAM_ERROR.
 * Messages never contain the key.
 */
export async function checkOpenAiKey(apiKey: string, options: OpenAiKeyCheckOptions = {}): Promise<KeyCheckPass> {
  const client = await checkClient(apiKey, options.baseURL ?? DEFAULT_OPENAI_BASE_URL, options.timeoutMs);
  try {
    await client.models.list();
    return {};
  } catch (error) {
    if (error instanceof PermissionDeniedError) return { restricted: true };
    throw checkFailure(error, 'OpenAI');
  }
}

/**
 * Asks OpenRouter whether a key is accepted, with `GET /api/v1/key` (free; `/models` needs no key
 * and would prove nothing). 401/403 → INVALID_PROVIDER_KEY; any other failure → UPSTREAM_ERROR.
 */
export async function checkOpenRouterKey(apiKey: string, options: OpenAiKeyCheckOptions = {}): Promise<KeyCheckPass> {
  const client = await checkClient(
    apiKey,
    options.baseURL ?? DEFAULT_OPENROUTER_BASE_URL,
    options.timeoutMs,
    openRouterHeaders(options.appUrl),
  );
  try {
    await client.get('/key');
    return {};
  } catch (error) {
    throw checkFailure(error, 'OpenRouter');
  }
}

const checkClient = (apiKey: string, baseURL: string, timeoutMs = 10_000, headers?: Record<string, string>) =>
  createOpenAiClient(apiKey, { baseURL, headers, maxRetries: 1, timeoutMs });

function checkFailure(error: unknown, name: string): KeywardError {
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) {
    return new KeywardError(ErrorCode.INVALID_PROVIDER_KEY, `${name} rejected this key`, { status: error.status });
  }
  const status = error instanceof APIError ? error.status : undefined;
  return new KeywardError(ErrorCode.UPSTREAM_ERROR, `Could not check the key with ${name}; nothing was stored`, {
    retryable: true,
    ...(status ? { status } : {}),
  });
}
