import { ErrorCode, KeywardError } from '../common/errors';

/** `path` under `base`, keeping a base path such as GitHub Enterprise's `/api/v3`. */
export const endpoint = (base: string, path: string): string =>
  new URL(path, base.endsWith('/') ? base : `${base}/`).toString();

/** A request to a provider's check endpoint with a time limit; a network failure becomes UPSTREAM_ERROR. */
export async function checkRequest(
  provider: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    throw unreachable(provider);
  }
}

export const rejected = (provider: string, status: number): KeywardError =>
  new KeywardError(ErrorCode.INVALID_PROVIDER_KEY, `${provider} rejected this key`, { status });

export const unreachable = (provider: string, status?: number): KeywardError =>
  new KeywardError(ErrorCode.UPSTREAM_ERROR, `Could not check the key with ${provider}; nothing was stored`, {
    retryable: true,
    ...(status ? { status } : {}),
  });

/** The body as JSON, or undefined when it is not JSON. */
export async function jsonBody(response: Response): Promise<unknown> {
  try {
    return (await response.json()) as unknown;
  } catch {
    return undefined;
  }
}
