import { expressMiddleware } from '@as-integrations/express5';
import type { ApolloServer } from '@apollo/server';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { GatewayContext } from './context';
import type { ContextFactory } from './context-factory';
import { requestIdFrom, requestScope } from './request-scope';

export const GRAPHQL_PATH = '/graphql';

const withRequestScope: RequestHandler = (req, res, next) => {
  const requestId = requestIdFrom(req.headers['x-request-id']);
  res.setHeader('x-request-id', requestId);
  res.locals.requestId = requestId;
  requestScope.run({ requestId }, next);
};

/** Body-parser failures become GraphQL-shaped errors instead of Express's HTML page. */
const bodyErrors: ErrorRequestHandler = (error: { type?: string; status?: number }, _req, res, next) => {
  if (res.headersSent) return next(error);
  const tooLarge = error.type === 'entity.too.large';
  const status = tooLarge ? 413 : error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
  const message = tooLarge ? 'Request body too large' : 'Malformed request body: expected a JSON GraphQL request';
  res.status(status).json({ errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] });
};

export interface HttpAppOptions {
  apollo: ApolloServer<GatewayContext>;
  contexts: ContextFactory;
  /** Largest JSON body accepted, in bytes; a bigger one is answered 413 (BAD_REQUEST). */
  bodyLimit: number;
  /** Routes mounted before /graphql (health, metrics). */
  routes: express.Router[];
  /** Mounted after /graphql: answers what nothing before it did (the web console). */
  fallback?: express.Router;
}

export function createHttpApp({ apollo, contexts, bodyLimit, routes, fallback }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  for (const router of routes) app.use(router);
  app.use(
    GRAPHQL_PATH,
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
