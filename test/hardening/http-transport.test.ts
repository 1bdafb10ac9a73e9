import { type TestGateway } from '../support/gateway';
import { startGateways } from './helpers';

interface RawAnswer {
  status: number;
  contentType: string | null;
  text: string;
  json?: { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

async function send(url: string, init: RequestInit): Promise<RawAnswer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: RawAnswer['json'];
  try {
    json = JSON.parse(text) as RawAnswer['json'];
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), text, json };
}

const postJson = (url: string, body: string, headers: Record<string, string> = {}) =>
  send(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

/** A JSON request body of exactly `bytes` bytes: a valid query padded with spaces. */
const bodyOfSize = (bytes: number): string => {
  const body = JSON.stringify({ query: '{ __typename }' });
  return body.slice(0, -1) + ' '.repeat(bytes - Buffer.byteLength(body)) + '}';
};

describe('HTTP transport', () => {
  let gw: TestGateway;
  let small: TestGateway;
  beforeAll(async () => {
    [gw, small] = await startGateways({}, { env: { KEYWARD_MAX_BODY_BYTES: '2048' } });
  });
  afterAll(() => Promise.all([gw?.stop(), small?.stop()]));

  describe('body limit', () => {
    it('accepts a body of exactly KEYWARD_MAX_BODY_BYTES and answers 413 BAD_REQUEST (JSON) one byte over', async () => {
      const atLimit = await postJson(small.url, bodyOfSize(2048));
      expect(atLimit.status).toBe(200);
      expect(atLimit.json?.data).toEqual({ __typename: 'Query' });

      const over = await postJson(small.url, bodyOfSize(2049));
      expect(over.status).toBe(413);
      expect(over.contentType).toMatch(/^application\/json/);
      expect(over.json?.errors?.[0]).toEqual({
        message: 'Request body too large',
        extensions: { code: 'BAD_REQUEST' },
      });
    });

    it('defaults to 1 MiB', async () => {
      expect((await postJson(gw.url, bodyOfSize(1024 * 1024))).status).toBe(200);
      const over = await postJson(gw.url, bodyOfSize(1024 * 1024 + 1));
      expect(over.status).toBe(413);
      expect(over.json?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    });
  });

  it('refuses a batched request (a JSON array) with a 4xx', async () => {
    const batch = JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]);
    const answer = await postJson(gw.url, batch, { authorization: `Bearer ${gw.platformToken}` });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.text).not.toContain('"__typename":"Query"');
  });

  it('does not support automatic persisted queries (WebSocket has none either)', async () => {
    const answer = await postJson(
      gw.url,
      JSON.stringify({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'nope' } } }),
    );
    expect(answer.status).toBeLessThan(500);
    expect(answer.json?.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
  });

  describe('CSRF prevention', () => {
    const getUrl = () => `${gw.url}?query=${encodeURIComponent('{ __typename }')}`;

    it('refuses a GET query without content-type, x-apollo-operation-name or apollo-require-preflight', async () => {
      const answer = await send(getUrl(), { method: 'GET' });
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/Cross-Site Request Forgery/);
      expect(answer.text).not.toContain('"__typename":"Query"');
    });

    it('refuses a POST with a "simple" content type (text/plain), which a form can send cross-site', async () => {
      const answer = await send(gw.url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{"query":"{ __typename }"}',
      });
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/Cross-Site Request Forgery/);
    });

    it('answers the same GET with apollo-require-preflight', async () => {
      const answer = await send(getUrl(), { method: 'GET', headers: { 'apollo-require-preflight': 'true' } });
      expect(answer.status).toBe(200);
      expect(answer.json?.data).toEqual({ __typename: 'Query' });
    });
  });

  it('answers a POST whose content type is neither JSON nor "simple" with 4xx, not 500', async () => {
    const answer = await send(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<query/>',
    });
    expect(answer.status).toBe(400);
    expect(answer.json?.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('answers malformed JSON with 400 BAD_REQUEST', async () => {
    const answer = await postJson(gw.url, '{"query": "{ __typename }"');
    expect(answer.status).toBe(400);
    expect(answer.json?.errors?.[0]).toEqual({
      message: 'Malformed request body: expected a JSON GraphQL request',
      extensions: { code: 'BAD_REQUEST' },
    });
  });

  it('answers a malformed URL with 400 JSON, not an HTML stack trace', async () => {
    const answer = await send(`${gw.url.replace('/graphql', '')}/%E0%A4%A`, { method: 'GET' });
    expect(answer.status).toBeLessThan(500);
    expect(answer.text).not.toMatch(/ {4}at |node_modules/);
  });
});
