import { randomBytes } from 'node:crypto';
import { sendJson, startKeyCheckServer, type KeyCheckServer } from './key-check-server';

/**
 * A local stand-in for Linear's GraphQL endpoint (`POST /graphql`) as key checks use it: the
 * `viewer` query answered with the key's user; a key it does not know (sent, as Linear wants
 * personal API keys, in `Authorization` without `Bearer`) gets HTTP 400 with a GraphQL error
 * whose `extensions.type` is "authentication error", as Linear sends it; 503 during an outage.
 */
export interface LinearServer extends KeyCheckServer {
  acceptKey(apiKey: string): void;
  /** The GraphQL query text of each request. */
  queries(): Array<string | undefined>;
}

/** A fresh Linear personal API key (`lin_api_` and 40 characters). */
export const linearKey = (): string => `lin_api_${randomBytes(30).toString('base64url').slice(0, 40)}`;

export async function startLinearServer(): Promise<LinearServer> {
  const keys = new Set<string>();
  const server = await startKeyCheckServer(
    (request, res) => {
      if (request.method !== 'POST' || request.path !== '/graphql') {
        res.writeHead(404).end();
        return;
      }
      const key = request.authorization ?? '';
      if (!keys.has(key)) {
        sendJson(res, 400, {
          errors: [
            {
              message: 'Authentication required, not authenticated',
              extensions: {
                type: 'authentication error',
                code: 'AUTHENTICATION_ERROR',
                statusCode: 401,
                userError: true,
                userPresentableMessage: 'You need to authenticate to access this operation.',
              },
            },
          ],
        });
        return;
      }
      const query = queryOf(request.body) ?? '';
      if (!/\bviewer\s*\{[^}]*\bid\b/.test(query)) {
        sendJson(res, 400, {
          errors: [{ message: 'Cannot query this field in the stand-in', extensions: { type: 'graphql error' } }],
        });
        return;
      }
      sendJson(res, 200, { data: { viewer: { id: '7b3c4f52-1d0e-4f5a-9d9a-2f3f0f9b1c11' } } });
    },
    (res) =>
      sendJson(res, 503, { errors: [{ message: 'Service unavailable', extensions: { type: 'internal error' } }] }),
  );
  return {
    ...server,
    acceptKey: (apiKey) => {
      keys.add(apiKey);
    },
    queries: () => server.requests.map((request) => queryOf(request.body)),
  };
}

function queryOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { query?: unknown };
    return typeof parsed.query === 'string' ? parsed.query : undefined;
  } catch {
    return undefined;
  }
}
