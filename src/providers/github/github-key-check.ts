import type { KeyCheckPass } from '../key-checks';
import { checkRequest, endpoint, rejected, unreachable } from '../http-key-check';

export interface GitHubKeyCheckOptions {
  /** https://api.github.com, or a GitHub Enterprise Server's https://HOST/api/v3. */
  apiUrl: string;
  timeoutMs?: number;
}

const SCOPE = /^[a-z0-9:_-]{1,64}$/i;
const MAX_SCOPES = 50;

/**
 * Asks GitHub whether a token is accepted with `GET /user` (free; every token may read it).
 * 401 → INVALID_PROVIDER_KEY; 403 (rate limit, SSO enforcement), 429, 5xx and network failures
 * → UPSTREAM_ERROR. A classic token's scopes come back in `X-OAuth-Scopes`; fine-grained tokens
 * send no such header.
 */
export async function checkGitHubKey(token: string, options: GitHubKeyCheckOptions): Promise<KeyCheckPass> {
  const response = await checkRequest(
    'GitHub',
    endpoint(options.apiUrl, 'user'),
    {
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${token}`,
        'user-agent': 'keyward',
        'x-github-api-version': '2022-11-28',
      },
    },
    options.timeoutMs ?? 10_000,
  );
  await response.body?.cancel();
  if (response.status === 401) throw rejected('GitHub', response.status);
  if (!response.ok) throw unreachable('GitHub', response.status);
  const header = response.headers.get('x-oauth-scopes');
  return header === null ? {} : { scopes: parseScopes(header) };
}

/** The listed scopes that look like scopes (the header is the provider's text, shown to users). */
export function parseScopes(header: string): string[] {
  return header
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => SCOPE.test(scope))
    .slice(0, MAX_SCOPES);
}
