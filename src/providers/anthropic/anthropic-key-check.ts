import Anthropic from '@anthropic-ai/sdk';
import { ErrorCode, KeywardError } from '../../common/errors';

export interface AnthropicKeyCheckOptions {
  baseURL?: string;
  timeoutMs?: number;
}

/**
 * Asks Anthropic whether a key is accepted, with `GET /v1/models` (free of charge).
 * 401/403 → INVALID_PROVIDER_KEY; any other failure → UPSTREAM_ERROR (the key is not stored
 * either way). Error messages never contain the key.
 */
export async function checkAnthropicKey(apiKey: string, options: AnthropicKeyCheckOptions = {}): Promise<void> {
  const client = new Anthropic({
    apiKey,
    baseURL: options.baseURL,
    maxRetries: 1,
    timeout: options.timeoutMs ?? 10_000,
  });
  try {
    await client.models.list({ limit: 1 });
  } catch (error) {
    if (error instanceof Anthropic.AuthenticationError || error instanceof Anthropic.PermissionDeniedError) {
      throw new KeywardError(ErrorCode.INVALID_PROVIDER_KEY, 'Anthropic rejected this key', { status: error.status });
    }
    const status = error instanceof Anthropic.APIError ? error.status : undefined;
    throw new KeywardError(ErrorCode.UPSTREAM_ERROR, 'Could not check the key with Anthropic; nothing was stored', {
      retryable: true,
      ...(status ? { status } : {}),
    });
  }
}
