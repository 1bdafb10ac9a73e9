import { runInThisContext } from 'node:vm';
import fc from 'fast-check';
import type { Client } from 'graphql-ws';
import { type TestGateway } from '../support/gateway';
import { bearer, wsRequest } from '../support/ws-client';
import { closed, leaksIn, opened, openWsClient, rawSocket, startGateway, toOutcome, type Outcome } from './helpers';

/**
 * Property-based fuzzing of both transports with malformed and hostile input. Whatever arrives,
 * the gateway answers as a client error: no 5xx, no INTERNAL_SERVER_ERROR, no stack trace or
 * source path in what the client sees, no unhandled rejection, and it keeps serving.
 */

// ---------------------------------------------------------------------------------------------
// Documents

const NAMES = [
  'me',
  'tenant',
  'users',
  'credentials',
  'keyStatus',
  'models',
  'agents',
  'conversation',
  'auditEvents',
  'verifyAuditLog',
  'usage',
  'id',
  'name',
  'email',
  'role',
  'policy',
  'allowedModels',
  'edges',
  'node',
  'cursor',
  'pageInfo',
  'hasNextPage',
  'owner',
  'user',
  'messages',
  'agent',
  'keySources',
  '__typename',
  '__schema',
  '__type',
  'types',
  'fields',
  'ofType',
  'chat',
  'createTenant',
  'deleteTenant',
  'rotateDataKey',
  'x',
  'Query',
  'User',
];
const PUNCTUATION = [
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ':',
  '=',
  '@',
  '$',
  '!',
  '|',
  '&',
  '...',
  ',',
  '"',
  '"""',
  '#',
  '\n',
];
const KEYWORDS = [
  'query',
  'mutation',
  'subscription',
  'fragment',
  'on',
  'true',
  'false',
  'null',
  'schema',
  'type',
  'extend',
  'directive',
  '@include',
  '@skip',
  '@defer',
  'if:',
];

const hostileNumber = fc.constantFrom(
  '0',
  '-0',
  '1e308',
  '1e309',
  '-1e400',
  '9007199254740993',
  '2147483648',
  '-2147483649',
  '0x10',
  '1.',
  '.5',
  '00',
  '1'.repeat(400),
  'NaN',
  'Infinity',
);
const name = fc.oneof(fc.constantFrom(...NAMES), fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,12}$/));
const unicodeText = fc.string({ unit: 'binary', maxLength: 80 });
const stringLiteral = unicodeText.map((text) => JSON.stringify(text));

const tokenSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(...PUNCTUATION),
      fc.constantFrom(...KEYWORDS),
      name,
      hostileNumber,
      stringLiteral,
      unicodeText,
    ),
    {
      maxLength: 80,
    },
  )
  .map((tokens) => tokens.join(' '));

/** `{ a { b { c … } } }`, often far deeper than the limit, sometimes left unbalanced. */
const deepSelection = fc
  .tuple(fc.array(name, { minLength: 1, maxLength: 120 }), fc.boolean())
  .map(([path, balanced]) => `{ ${path.join(' { ')}${balanced ? ' }'.repeat(path.length) : ''} }`);

/** Many aliases, possibly over the alias and token limits. */
const aliasFlood = fc
  .tuple(
    fc.integer({ min: 1, max: 400 }),
    fc.constantFrom('me { id }', '__typename', 'models { id }', 'x', 'auditEvents(first: 500) { edges { cursor } }'),
  )
  .map(([count, field]) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`);

const directiveFlood = fc
  .tuple(
    fc.integer({ min: 1, max: 200 }),
    fc.constantFrom('@skip(if: false)', '@include(if: true)', '@nope', '@skip', '@skip(if: "x")'),
  )
  .map(([count, directive]) => `{ me { id ${directive.concat(' ').repeat(count)}} }`);

const VARIABLE_DOCUMENTS = [
  'query ($f: Int, $a: String) { auditEvents(first: $f, after: $a) { edges { cursor node { id action } } pageInfo { hasNextPage endCursor } } }',
  'query ($filter: AuditFilter) { auditEvents(filter: $filter) { edges { node { id at } } } }',
  'query ($p: Provider!) { keyStatus(provider: $p) { provider hasPersonalKey hasTenantKey } }',
  'query ($id: ID!) { conversation(id: $id) { id title messages { id content } } }',
  'query ($filter: UsageFilter, $g: [UsageDimension!]) { usage(filter: $filter, groupBy: $g) { requests costUsd day } }',
  'query ($if: Boolean!) { me { id @include(if: $if) email } }',
  'mutation ($input: CreateTenantInput!) { createTenant(input: $input) { tenant { id } token } }',
  'mutation ($input: SetCredentialInput!) { setCredential(input: $input) { id last4 } }',
  'subscription ($input: ChatInput!) { chat(input: $input) { __typename ... on ChatDelta { text } } }',
];

const OTHER_DOCUMENTS = [
  '{ me { id email role tenant { id name policy { allowedModels defaultModel } } } }',
  'fragment A on User { ...B } fragment B on User { ...A } { me { ...A } }',
  'fragment A on User { id tenant { ...T } } fragment T on Tenant { id } { me { ...A ...A ...A } }',
  '{ me { ... on Tenant { id } } }',
  'query A { me { id } } query A { me { id } }',
  'query A { me { id } } query B { tenant { id } }',
  '{ __schema { types { name fields { name type { ofType { ofType { ofType { name } } } } } } } }',
  '{ __type(name: "User") { fields { name } } }',
  '{ auditEvents(first: 2147483647) { edges { cursor } } }',
  '{ auditEvents(first: -1, after: "not-a-cursor") { edges { cursor } } }',
  '{ keyStatus(provider: NOPE) { provider } }',
  '{ conversation(id: "../../etc/passwd") { id } }',
  '{ conversation(id: "00000000-0000-0000-0000-000000000000") { id } }',
  '{ usage(filter: { since: "yesterday" }) { requests } }',
  '{ me { id } } # trailing comment',
  '"""block""" query { me { id } }',
];

/** A valid-looking document with a few random edits: inserted junk, cut spans, doubled spans. */
const mutatedDocument = fc
  .tuple(
    fc.constantFrom(...VARIABLE_DOCUMENTS, ...OTHER_DOCUMENTS),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 12 }), fc.oneof(unicodeText, fc.constantFrom(...PUNCTUATION))), {
      maxLength: 4,
    }),
  )
  .map(([document, edits]) =>
    edits.reduce((text, [at, cut, insert]) => {
      const position = text.length === 0 ? 0 : at % text.length;
      return text.slice(0, position) + insert + text.slice(position + cut);
    }, document),
  );

const hugeString = fc
  .tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('a', 'é', '😀', '\\u0000', '"'))
  .map(([length, unit]) => `{ conversation(id: "${unit.repeat(Math.ceil(length / unit.length))}") { id } }`);

const document = fc.oneof(
  { arbitrary: unicodeText, weight: 2 },
  { arbitrary: tokenSoup, weight: 3 },
  { arbitrary: deepSelection, weight: 2 },
  { arbitrary: aliasFlood, weight: 1 },
  { arbitrary: directiveFlood, weight: 1 },
  { arbitrary: mutatedDocument, weight: 3 },
  { arbitrary: fc.constantFrom(...VARIABLE_DOCUMENTS, ...OTHER_DOCUMENTS), weight: 2 },
  { arbitrary: hugeString, weight: 1 },
);

// ---------------------------------------------------------------------------------------------
// Variables

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  unicodeText,
  fc.constantFrom(
    1e308,
    -1e308,
    Number.MAX_SAFE_INTEGER + 2,
    2 ** 31,
    -(2 ** 31) - 1,
    0.5,
    -0,
    '',
    ' ',
    '2024-13-45T99:99:99Z',
    '0000-00-00',
    'NaN',
    '00000000-0000-0000-0000-000000000000',
    'ANTHROPYC',
    'USER',
    ['USER', 'NOPE'],
    { since: 'never' },
    { message: '', keySource: 'EVERYTHING' },
    { name: 1, adminEmail: {} },
    { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: 7 },
  ),
  fc.string({ unit: 'binary', minLength: 1_000, maxLength: 5_000 }),
);

const VARIABLE_NAMES = ['f', 'a', 'filter', 'p', 'id', 'g', 'if', 'input', 'nope'];
const variables = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom(...VARIABLE_NAMES), hostileValue, { maxKeys: 4 }),
  fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), hostileValue, { maxKeys: 3 }),
);

// ---------------------------------------------------------------------------------------------
// Checks

/** Mutations and subscriptions are sent anonymously, so fuzzing never writes as an admin. */
const mayWrite = (text: string): boolean => /mutation|subscription/.test(text);

const expectClean = (outcome: Outcome, context: string): void => {
  if (outcome.status !== undefined && outcome.status >= 500)
    throw new Error(`HTTP ${outcome.status} for ${context}: ${outcome.text}`);
  const leaks = leaksIn(outcome.text);
  if (leaks.length)
    throw new Error(`response leaks ${JSON.stringify(leaks)} for ${context}: ${outcome.text.slice(0, 2000)}`);
};

const describeInput = (query: unknown, vars: unknown): string =>
  JSON.stringify({ query, variables: vars }).slice(0, 1000);

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });

async function postRaw(url: string, body: string, headers: Record<string, string>): Promise<Outcome> {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, text: await response.text() };
}

// ---------------------------------------------------------------------------------------------

describe('fuzzing both transports', () => {
  let gw: TestGateway;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const clients: { authed?: Client; anonymous?: Client } = {};

  /** One kept-open client per kind, replaced if the server ever closes it. */
  const client = (authed: boolean): Client => {
    const key = authed ? 'authed' : 'anonymous';
    clients[key] ??= openWsClient(gw, authed ? gw.platformToken : undefined);
    return clients[key]!;
  };

  /**
   * Node emits 'unhandledRejection' on the real process object. Inside a test file `process` is
   * jest's copy with its own listeners, which never hears it, so listen on the host's process.
   * (Jest also fails the running test on an unhandled rejection; this makes the check explicit.)
   */
  const hostProcess = runInThisContext('process') as NodeJS.Process;

  beforeAll(async () => {
    hostProcess.on('unhandledRejection', onUnhandled);
    // The anonymous client keeps its socket for the whole run, beyond the default 30 s.
    gw = await startGateway({ env: { KEYWARD_WS_UNAUTHENTICATED_TIMEOUT_MS: '600000' } });
  });

  afterAll(async () => {
    hostProcess.off('unhandledRejection', onUnhandled);
    await Promise.all(Object.values(clients).map(async (each) => each?.dispose()));
    await gw?.stop();
  });

  it('answers hostile documents and variables as client errors on HTTP and WebSocket', async () => {
    // What the inputs came to, to check that they reach every layer, not only the parser.
    const reached = new Map<string, number>();
    const tally = (text: string) => {
      let body: { data?: unknown; errors?: Array<{ extensions?: { code?: unknown } }> };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return;
      }
      const outcome = body.errors?.length ? String(body.errors[0].extensions?.code) : body.data ? 'success' : 'other';
      reached.set(outcome, (reached.get(outcome) ?? 0) + 1);
    };
    await fc.assert(
      fc.asyncProperty(document, variables, async (query, vars) => {
        const authed = !mayWrite(query);
        const context = describeInput(query, vars);

        const http = await postRaw(gw.url, JSON.stringify({ query, variables: vars }), {
          'content-type': 'application/json',
          ...(authed ? { authorization: `Bearer ${gw.platformToken}` } : {}),
        });
        expectClean(http, `HTTP ${context}`);
        tally(http.text);

        const ws = client(authed);
        let result: Awaited<ReturnType<typeof wsRequest>>;
        try {
          result = await withTimeout(
            wsRequest(ws, query, vars as Record<string, unknown> | undefined),
            10_000,
            context,
          );
        } catch (error) {
          // The server must answer every document on the same socket, never close it.
          delete clients[authed ? 'authed' : 'anonymous'];
          void ws.dispose();
          throw new Error(`WebSocket failed for ${context}: ${String(error)}`, { cause: error });
        }
        expectClean(toOutcome(result), `WebSocket ${context}`);
      }),
      { numRuns: 1500 },
    );
    const missed = ['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'success'].filter(
      (layer) => !reached.has(layer),
    );
    expect({ missed, reached: Object.fromEntries(reached) }).toEqual({ missed: [], reached: expect.anything() });
  }, 120_000);

  it('answers malformed HTTP requests with 4xx JSON', async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const body = fc.oneof(
      unicodeText,
      fc.json({ maxDepth: 3 }),
      json.map((value) => JSON.stringify(value).slice(0, -1)), // truncated JSON
      fc.array(fc.record({ query: document }), { maxLength: 3 }).map((batch) => JSON.stringify(batch)),
      fc.record({ query: json }).map((value) => JSON.stringify(value)),
      fc.record({ query: document, variables: json }).map((value) => JSON.stringify(value)),
      fc.record({ query: document, operationName: json, extensions: json }).map((value) => JSON.stringify(value)),
      fc.constantFrom(
        '{"query":"query($f:Int){auditEvents(first:$f){pageInfo{hasNextPage}}}","variables":{"f":1e400}}',
        '{"query":"{ me { id } }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"nope"}}}',
        '{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"0000000000000000000000000000000000000000000000000000000000000000"}}}',
        '{"query":"{ me { id } }","variables":"{}"}',
        '{"query":"{ me { id } }","__proto__":{"polluted":true}}',
        '{"query":"\\ud800"}',
        '\u0000',
        '',
        'null',
        '[]',
        '"{ me { id } }"',
      ),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/graphql-response+json',
      'application/graphql',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    );
    const authorization = fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 6 },
      {
        arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'Bearer kw_short', 'bearer  kw_'),
        weight: 1,
      },
      { arbitrary: fc.stringMatching(/^[ -~]{0,60}$/), weight: 1 },
    );

    await fc.assert(
      fc.asyncProperty(body, contentType, authorization, fc.boolean(), async (raw, type, auth, preflight) => {
        const headers: Record<string, string> = { 'content-type': type };
        if (auth !== undefined) headers.authorization = auth;
        if (preflight) headers['apollo-require-preflight'] = 'true';
        const outcome = await postRaw(gw.url, raw, headers);
        expectClean(outcome, `POST ${type} ${JSON.stringify(raw).slice(0, 500)}`);
        expect(outcome.status).toBeLessThan(500);
      }),
      { numRuns: 800 },
    );

    // GET with arbitrary search parameters (with the preflight header, so CSRF prevention lets it in).
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('query', 'variables', 'operationName', 'extensions', 'x'),
          fc.oneof(document, unicodeText),
          { maxKeys: 4 },
        ),
        async (params) => {
          const search = new URLSearchParams(params as Record<string, string>).toString();
          const url = `${gw.url}?${search}`;
          if (url.length > 8_000) return; // beyond what HTTP servers accept in a request line
          const response = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
          expectClean({ status: response.status, text: await response.text() }, `GET ?${search.slice(0, 500)}`);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);

  it('closes a socket that breaks the graphql-ws protocol with a 44xx code, never 4500', async () => {
    const message = fc.oneof(
      unicodeText,
      fc.json({ maxDepth: 3 }),
      fc
        .record({
          type: fc.constantFrom('subscribe', 'connection_init', 'ping', 'pong', 'complete', 'next', 'error', 'nope'),
          id: fc.oneof(fc.string(), fc.integer()),
          payload: fc.jsonValue({ maxDepth: 3 }),
        })
        .map((m) => JSON.stringify(m)),
      fc
        .record({
          id: fc.string(),
          type: fc.constant('subscribe'),
          payload: fc.record({ query: fc.oneof(document, fc.jsonValue()), variables: fc.jsonValue() }),
        })
        .map((m) => JSON.stringify(m)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 4 }), fc.boolean(), async (messages, init) => {
        const socket = rawSocket(gw.wsUrl);
        await opened(socket);
        const end = closed(socket);
        if (init)
          socket.send(
            JSON.stringify({ type: 'connection_init', payload: { authorization: bearer(gw.platformToken) } }),
          );
        const received: string[] = [];
        socket.on('message', (data) => received.push(data.toString()));
        for (const each of messages) socket.send(each);
        // Whatever the server made of it, close from our side after a moment if it did not.
        const timer = setTimeout(() => socket.close(1000), 150);
        const { code, reason } = await end;
        clearTimeout(timer);
        expect(code === 1000 || (code >= 4400 && code < 4500)).toBe(true);
        expectClean({ text: received.join('\n') + reason }, `messages ${JSON.stringify(messages).slice(0, 500)}`);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('still serves afterwards, with no unhandled rejection', async () => {
    expect((await fetch(gw.url.replace('/graphql', '/healthz'))).status).toBe(200);
    const http = await postRaw(gw.url, JSON.stringify({ query: '{ me { id } }' }), {
      'content-type': 'application/json',
      authorization: `Bearer ${gw.platformToken}`,
    });
    expect(JSON.parse(http.text).data.me.id).toEqual(expect.any(String));
    const ws = await wsRequest(client(true), '{ me { id } }');
    expect(ws.data?.me.id).toEqual(expect.any(String));
    expect(unhandled).toEqual([]);
    expect(gw.logs.text).not.toMatch(/unexpected error/);
  });
});
