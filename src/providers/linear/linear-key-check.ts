import type { KeyCheckPass } from '../key-checks';
import { checkRequest, endpoint, jsonBody, rejected, unreachable } from '../http-key-check';

export interface LinearKeyCheckOptions {
  /** https://api.linear.app; the GraphQL endpoint is `/graphql` under it. */
  apiUrl: string;
  timeoutMs?: number;
}

interface LinearAnswer {
  data?: { viewer?: { id?: unknown } | null } | null;
  errors?: Array<{ extensions?: { type?: unknown; code?: unknown } }>;
}

const VIEWER_QUERY = 'query KeywardKeyCheck { viewer { id } }';

/**
 * Asks Linear whether an API key is accepted with the GraphQL query `viewer { id }` (free).
 * Personal API keys go in `Authorization` as they are, without `Bearer`. Linear answers a bad
 * key with HTTP 400 (or 401) and a GraphQL error of type "authentication error" →
 * INVALID_PROVIDER_KEY; anything else that is not a viewer → UPSTREAM_ERROR.
 */
export async function checkLinearKey(apiKey: string, options: LinearKeyCheckOptions): Promise<KeyCheckPass> {
  const response = await checkRequest(
    'Linear',
    endpoint(options.apiUrl, 'graphql'),
    {
      method: 'POST',
      headers: { authorization: apiKey, 'content-type': 'application/json', 'user-agent': 'keyward' },
      body: JSON.stringify({ query: VIEWER_QUERY }),
    },
    options.timeoutMs ?? 10_000,
  );
  const answer = (await jsonBody(response)) as LinearAnswer | undefined;
  const authenticationError = answer?.errors?.some(
    (error) => error.extensions?.type === 'authentication error' || error.extensions?.code === 'AUTHENTICATION_ERROR',
  );
  if (response.status === 401 || authenticationError) throw rejected('Linear', response.status);
  if (!response.ok || typeof answer?.data?.viewer?.id !== 'string') throw unreachable('Linear', response.status);
  return {};
}
