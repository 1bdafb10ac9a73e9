import { randomBytes } from 'node:crypto';
import { sendJson, startKeyCheckServer, type KeyCheckServer } from './key-check-server';

/**
 * A local stand-in for the part of GitHub's REST API that key checks use: `GET /user`, answered
 * as GitHub does — 200 with the user and, for a classic token, `X-OAuth-Scopes` (comma and
 * space separated, possibly empty); 401 `{"message":"Bad credentials",…}` for an unknown
 * token; 503 during an outage.
 */
export interface GitHubServer extends KeyCheckServer {
  /** Accepts `token`; `scopes` null: a fine-grained token (no X-OAuth-Scopes header). */
  acceptToken(token: string, scopes: string[] | null): void;
  /** GitHub no longer accepts `token` (revoked or expired). */
  revokeToken(token: string): void;
  /** The token each request presented (`Authorization: Bearer …` or `token …`). */
  presentedTokens(): Array<string | undefined>;
}

/** A fresh classic personal access token, shaped like GitHub's (`ghp_` and 36 characters). */
export const githubToken = (): string => `ghp_${randomBytes(27).toString('base64url').slice(0, 36)}`;

const tokenOf = (authorization: string | undefined): string | undefined =>
  /^(?:Bearer|token) (\S+)$/i.exec(authorization ?? '')?.[1];

export async function startGitHubServer(): Promise<GitHubServer> {
  const tokens = new Map<string, string[] | null>();
  const server = await startKeyCheckServer(
    (request, res) => {
      if (request.method !== 'GET' || request.path !== '/user') {
        sendJson(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
        return;
      }
      const token = tokenOf(request.authorization);
      const scopes = token === undefined ? undefined : tokens.get(token);
      if (scopes === undefined) {
        sendJson(res, 401, {
          message: token === undefined ? 'Requires authentication' : 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
        return;
      }
      sendJson(
        res,
        200,
        { login: 'octocat', id: 1, type: 'User' },
        {
          'x-github-media-type': 'github.v3; format=json',
          'x-ratelimit-limit': '5000',
          'x-ratelimit-remaining': '4999',
          ...(scopes === null ? {} : { 'x-oauth-scopes': scopes.join(', '), 'x-accepted-oauth-scopes': '' }),
        },
      );
    },
    (res) => sendJson(res, 503, { message: 'Service Unavailable' }),
  );
  return {
    ...server,
    acceptToken: (token, scopes) => {
      tokens.set(token, scopes);
    },
    revokeToken: (token) => {
      tokens.delete(token);
    },
    presentedTokens: () => server.requests.map((request) => tokenOf(request.authorization)),
  };
}
