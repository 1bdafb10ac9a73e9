import { expressMiddleware } from '@as-integrations/express5';
import type { ApolloServer } from '@apollo/server';
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { TrustProxy } from '../common/client-address';
import type { RequestContext } from '../auth/request-context';
import { ErrorCode } from '../common/codes';
import type { ContextFactory } from './context-factory';
import { requestScope } from './request-scope';

export const GRAPHQL_PATH = '/graphql';

const withRequestScope: RequestHandler = (_req, res, next) => {
  const requestId = randomUUID();
  res.setHeader('x-request-id', requestId);
  res.locals.requestId = requestId;
  requestScope.run({ requestId }, next);
};

const ENDPOINT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keyward GraphQL endpoint</title></head>
<body><h1>Keyward GraphQL endpoint</h1>
<p>Send queries and mutations here with <code>POST</code> and <code>Content-Type: application/json</code>;
subscriptions over WebSocket with the <code>graphql-transport-ws</code> protocol. The console is at <a href="/">/</a>.</p>
</body></html>
`;

/**
 * A browser opening /graphql gets a short page of its own, which loads nothing from anywhere,
 * instead of a landing page that loads scripts from another origin or a GraphQL error.
 */
const endpointPage: RequestHandler = (req, res, next) => {
  if (
    req.method !== 'GET' ||
    req.query.query !== undefined ||
    req.accepts(['application/json', 'text/html']) !== 'text/html'
  ) {
    return next();
  }
  res.status(200).set('content-security-policy', "default-src 'none'").type('html').send(ENDPOINT_PAGE);
};

/** Body-parser failures become GraphQL-shaped errors instead of Express's HTML page. */
const bodyErrors: ErrorRequestHandler = (error: { type?: string; status?: number }, _req, res, next) => {
  if (res.headersSent) return next(error);
  const tooLarge = error.type === 'entity.too.large';
  const status = tooLarge ? 413 : error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
  const message = tooLarge ? 'Request body too large' : 'Malformed request body: expected a JSON GraphQL request';
  res.status(status).json({ errors: [{ message, extensions: { code: ErrorCode.BAD_REQUEST } }] });
};

export interface HttpAppOptions {
  apollo: ApolloServer<RequestContext>;
  contexts: ContextFactory;
  /** Largest JSON body accepted, in bytes; a bigger one is answered 413 (BAD_REQUEST). */
  bodyLimit: number;
  /** Routes mounted before /graphql (health, metrics). */
  routes: express.Router[];
  /** Which proxies' X-Forwarded-For sets `req.ip` (the audit IP); the WebSocket path uses the same. */
  trustProxy: TrustProxy;
  /** Mounted after /graphql: answers what nothing before it did (the web console). */
  fallback?: express.Router;
}

export function createHttpApp({ apollo, contexts, bodyLimit, routes, trustProxy, fallback }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxy);
  for (const router of routes) app.use(router);
  app.use(
    GRAPHQL_PATH,
    endpointPage,
    // Parse first: body parsing finishes in the socket's async context, which would drop the scope.
    express.json({ limit: bodyLimit, type: ['application/json', 'application/graphql-response+json'] }),
    withRequestScope,
    expressMiddleware(apollo, {
      context: async ({ req, res }) =>
        contexts.create({
          authorization: req.headers.authorization,
          ip: req.ip ?? null,
          requestId: res.locals.requestId as string,
        }),
    }),
  );
  if (fallback) app.use(fallback);
  app.use(bodyErrors);
  return app;
}
