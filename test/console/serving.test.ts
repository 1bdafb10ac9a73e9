import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { consoleRoutes, defaultConsoleDir } from '../../src/server/console-route';
import { startSharedGateway, type TestGateway } from '../support/gateway';

/** The gateway serves the built console at / with strict headers; /graphql and the probes are unchanged. */

let gw: TestGateway;
let origin: string;

beforeAll(async () => {
  gw = await startSharedGateway();
  origin = gw.url.replace(/\/graphql$/, '');
});

afterAll(async () => {
  await gw?.stop();
});

function expectConsoleHeaders(res: Response, host: string) {
  const csp = res.headers.get('content-security-policy') ?? '';
  const directives = Object.fromEntries(
    csp.split(';').map((part) => {
      const [name, ...values] = part.trim().split(/\s+/);
      return [name, values.join(' ')];
    }),
  );
  expect(directives).toMatchObject({
    'default-src': "'self'",
    'script-src': "'self'",
    'style-src': "'self'",
    'connect-src': `'self' ws://${host}`,
    'img-src': "'self' data:",
    'frame-ancestors': "'none'",
    'base-uri': "'none'",
    'form-action': "'self'",
  });
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
}

test('/ is the console: HTML that loads only same-origin scripts and styles, no inline script', async () => {
  const res = await fetch(`${origin}/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expectConsoleHeaders(res, new URL(origin).host);
  const html = await res.text();
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  expect(scripts.length).toBeGreaterThan(0);
  for (const [, attributes, body] of scripts) {
    expect(body.trim()).toBe('');
    expect(attributes).toMatch(/src="\/assets\/[\w.-]+\.js"/);
  }
  expect(html).not.toMatch(/https?:\/\//);
  const asset = html.match(/src="(\/assets\/[\w.-]+\.js)"/)![1];
  const js = await fetch(`${origin}${asset}`);
  expect(js.status).toBe(200);
  expect(js.headers.get('content-type')).toMatch(/javascript/);
  expect(js.headers.get('cache-control')).toMatch(/immutable/);
});

test('client routes fall back to the console; a missing asset is 404; the API and probes are unchanged', async () => {
  for (const path of ['/chat', '/chat/3f0e9c1e-0000-4000-8000-000000000000', '/settings/keys', '/admin/audit']) {
    const res = await fetch(`${origin}${path}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<div id="app">');
  }
  expect((await fetch(`${origin}/assets/missing-file.js`)).status).toBe(404);
  const health = await fetch(`${origin}/healthz`);
  expect(await health.json()).toEqual({ status: 'ok' });
  expect(health.headers.get('content-security-policy')).toBeNull();
  const graphql = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  expect(await graphql.json()).toEqual({ data: { __typename: 'Query' } });
  expect((await fetch(`${origin}/chat`, { method: 'POST' })).status).toBe(404);
});

test('the WebSocket source in the CSP follows the Host header, and a Host that could inject a directive is left out', async () => {
  const { request } = await import('node:http');
  const headersFor = (host: string) =>
    new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
      const url = new URL(origin);
      const req = request({ host: url.hostname, port: url.port, path: '/', headers: { host } }, (res) => {
        res.resume();
        resolve(res.headers);
      });
      req.on('error', reject);
      req.end();
    });
  expect((await headersFor('console.example.test:8443'))['content-security-policy']).toContain(
    "connect-src 'self' ws://console.example.test:8443;",
  );
  const injected = (await headersFor("evil.test; script-src 'unsafe-inline'"))['content-security-policy'] as string;
  expect(injected).toContain("connect-src 'self';");
  expect(injected).not.toContain('unsafe-inline');
});

describe('a console that was not built', () => {
  let server: Server;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-console-'));
    const app = express();
    app.use(consoleRoutes(join(dir, 'missing')));
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test('answers 503 with what to run', async () => {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/has not been built[\s\S]*npm run build/);
  });
});

test('the default console directory is dist/console under the project root', () => {
  expect(defaultConsoleDir()).toBe(join(__dirname, '..', '..', 'dist', 'console'));
});
