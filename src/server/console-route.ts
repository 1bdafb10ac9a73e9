import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import express, { Router, type Request, type Response } from 'express';

/** Where `npm run build` puts the web console: dist/console under the project root. */
export function defaultConsoleDir(from: string = __dirname): string {
  let dir = resolve(from);
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return resolve(from, 'console');
    dir = parent;
  }
  return join(dir, 'dist', 'console');
}

/** A Host header that can be put into a CSP source expression as it is (no spaces, quotes or semicolons). */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The console's policy: everything from this origin only, no inline script or style, the
 * GraphQL WebSocket on this same host, never framed.
 */
export function consoleCsp(req: Request): string {
  const host = req.headers.host;
  const socket = host && SAFE_HOST.test(host) ? ` ${req.secure ? 'wss' : 'ws'}://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${socket}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

function setConsoleHeaders(req: Request, res: Response): void {
  res.setHeader('Content-Security-Policy', consoleCsp(req));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

const NOT_BUILT = [
  'The Keyward web console has not been built.',
  '',
  'Run `npm run build` (`npm start` builds it too), then reload this page.',
  'The GraphQL API is unaffected: it is at /graphql.',
  '',
].join('\n');

/**
 * Serves the built console from `dir`: its hashed assets (cached for a year), its other files,
 * and index.html for every other GET (the console's own routes, such as /chat). Mount it after
 * /graphql, /healthz, /readyz and /metrics so that it never answers for them. Answers 503 with
 * an explanation while the console is not built.
 */
export function consoleRoutes(dir: string): Router {
  const router = Router();
  const index = join(dir, 'index.html');
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    setConsoleHeaders(req, res);
    next();
  });
  router.use(
    '/assets',
    express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: false }),
  );
  router.use(express.static(dir, { index: false, maxAge: 0 }));
  router.get(/.*/, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index, (error) => {
      if (!error || res.headersSent) return;
      res.status(503).type('text/plain; charset=utf-8').send(NOT_BUILT);
    });
  });
  return router;
}
