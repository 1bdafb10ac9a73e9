import { type TestGateway } from '../support/gateway';
import { gql } from '../support/graphql-client';
import { leaksIn, startGateways } from './helpers';

/**
 * docs/api.md and docs/security.md: a subscription sent over HTTP is a client error that points
 * to WebSocket, and a browser opening /graphql gets nothing that loads from another origin.
 */

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const CHAT_OVER_HTTP = 'subscription OverHttp { chat(input: { message: "hello" }) { __typename } }';

let dev: TestGateway;
let production: TestGateway;
beforeAll(async () => {
  [dev, production] = await startGateways({}, { env: { NODE_ENV: 'production' } });
});
afterAll(() => Promise.all([dev?.stop(), production?.stop()]));

const errorLines = (gw: TestGateway, from: number) =>
  gw.logs
    .parsed()
    .slice(from)
    .filter((line) => (line.level as number) >= 50 || 'err' in line || 'stack' in line);

describe('subscription over HTTP POST', () => {
  test.each([
    ['with a token', true],
    ['without a token', false],
  ])('%s: 400 BAD_REQUEST saying to use WebSocket, no error logged', async (_case, withToken) => {
    const from = dev.logs.lines.length;
    const res = await gql(dev.url, CHAT_OVER_HTTP, undefined, withToken ? dev.platformToken : undefined);
    expect(res.status).toBe(400);
    expect(res.data ?? null).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(res.errors![0].message).toMatch(/WebSocket/);
    expect(res.errors![0].message).toMatch(/graphql-transport-ws/);
    expect(leaksIn(res.raw)).toEqual([]);

    expect(errorLines(dev, from)).toEqual([]);
    expect(
      dev.logs
        .parsed()
        .slice(from)
        .filter((line) => line.msg === 'graphql operation'),
    ).toEqual([
      expect.objectContaining({ operationType: 'subscription', outcome: 'error', errorCodes: ['BAD_REQUEST'] }),
    ]);
  });
});

describe('GET /graphql from a browser', () => {
  test.each([
    ['outside production', () => dev],
    ['in production', () => production],
  ])('%s: a self-contained page, nothing from another origin', async (_mode, gateway) => {
    const gw = gateway();
    const res = await fetch(gw.url, { headers: { accept: BROWSER_ACCEPT } });
    const body = await res.text();
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'");
    const own = new URL(gw.url).origin;
    const references = [...body.matchAll(/(?:https?:)?\/\/[^\s"'<>)]+/g)].map((match) => match[0]);
    expect(references.filter((reference) => new URL(reference, gw.url).origin !== own)).toEqual([]);
    expect(body).toMatch(/POST/);
  });

  test('a GET query with a CSRF-safe header is still answered as GraphQL', async () => {
    const res = await fetch(`${dev.url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
