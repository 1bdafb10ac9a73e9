import { type TestGateway } from '../support/gateway';
import { errorCode } from '../support/graphql-client';
import { countTokens, run, startGateway, startGateways, TRANSPORTS, type Outcome } from './helpers';

const PRODUCTION = { NODE_ENV: 'production', KEYWARD_MASTER_KEY: process.env.KEYWARD_TEST_MASTER_KEY };

const INTROSPECTION_QUERIES = [
  '{ __schema { queryType { name } } }',
  '{ __type(name: "User") { name fields { name } } }',
];

const expectNoLimitValues = (outcome: Outcome, code: string): void => {
  expect(outcome.data ?? null).toBeNull();
  expect(outcome.errors?.length).toBeGreaterThan(0);
  for (const error of outcome.errors!) {
    expect(error.extensions?.code).toBe(code);
    expect(error.message).not.toMatch(/\d/);
    expect(JSON.stringify(error.extensions)).not.toMatch(/\d/);
  }
};

describe('in production', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // Small limits with distinctive values, to look for them in the answers.
    gw = await startGateway({
      env: {
        ...PRODUCTION,
        KEYWARD_MAX_DEPTH: '3',
        KEYWARD_MAX_ALIASES: '2',
        KEYWARD_MAX_DIRECTIVES: '2',
        KEYWARD_MAX_COST: '17',
        KEYWARD_MAX_TOKENS: '29',
      },
    });
  });
  afterAll(() => gw?.stop());

  describe.each(TRANSPORTS)('over %s', (transport) => {
    const refusals: Array<[string, string, string, RegExp]> = [
      [
        'depth',
        '{ me { tenant { policy { defaultModel } } } }',
        'GRAPHQL_VALIDATION_FAILED',
        /^Query is nested too deeply\.$/,
      ],
      [
        'aliases',
        '{ a: me { id } b: me { id } c: me { id } }',
        'GRAPHQL_VALIDATION_FAILED',
        /^Query uses too many aliases\.$/,
      ],
      [
        'directives',
        '{ me { id @skip(if: false) email @skip(if: false) role @skip(if: false) } }',
        'GRAPHQL_VALIDATION_FAILED',
        /^Query uses too many directives\.$/,
      ],
      // Cost: me 2 + 1.5 × 6 = 11, tenant 2 + 1.5 × 3 = 6.5, so 17.5 > 17.
      [
        'cost',
        '{ me { id email role name preferredModel createdAt } tenant { id name createdAt } }',
        'GRAPHQL_VALIDATION_FAILED',
        /^Query is too expensive\.$/,
      ],
      [
        'tokens',
        `{ me { ${'id '.repeat(30)}} }`,
        'GRAPHQL_PARSE_FAILED',
        /^Syntax Error: Document contains too many tokens\. Parsing aborted\.$/,
      ],
    ];

    it.each(refusals)(
      'refuses an operation over the %s limit without saying the limit',
      async (limit, query, code, message) => {
        if (limit !== 'tokens') expect(countTokens(query)).toBeLessThanOrEqual(29); // refused for its own limit only
        const outcome = await run(transport, gw, gw.platformToken, query);
        expectNoLimitValues(outcome, code);
        expect(outcome.errors!.map((error) => error.message)).toContainEqual(expect.stringMatching(message));
      },
    );

    it('hides field suggestions ("Did you mean …")', async () => {
      const outcome = await run(transport, gw, gw.platformToken, '{ me { emial } }');
      expect(errorCode(outcome)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(outcome.errors![0].message).toBe('Cannot query field "emial" on type "User".');
      expect(outcome.text).not.toMatch(/did you mean/i);
    });

    it('hides enum suggestions in variable errors too', async () => {
      const outcome = await run(
        transport,
        gw,
        gw.platformToken,
        'query ($p: Provider!) { keyStatus(provider: $p) { provider } }',
        {
          p: 'ANTHROPYC',
        },
      );
      expect(errorCode(outcome)).toBe('BAD_USER_INPUT');
      expect(outcome.text).not.toMatch(/did you mean|ANTHROPIC/i);
    });

    it.each(INTROSPECTION_QUERIES)('refuses introspection: %s', async (query) => {
      const outcome = await run(transport, gw, gw.platformToken, query);
      expect(outcome.data ?? null).toBeNull();
      expect(errorCode(outcome)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(outcome.errors![0].message).toMatch(/introspection/i);
    });

    it('still answers __typename and ordinary queries', async () => {
      const outcome = await run(transport, gw, gw.platformToken, '{ __typename me { id } }');
      expect(outcome.errors ?? []).toEqual([]);
      expect(outcome.data).toMatchObject({ __typename: 'Query', me: { id: expect.any(String) } });
    });
  });
});

describe('in production with KEYWARD_INTROSPECTION=true', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env: { ...PRODUCTION, KEYWARD_INTROSPECTION: 'true' } });
  });
  afterAll(() => gw?.stop());

  it.each(TRANSPORTS)('answers introspection over %s', async (transport) => {
    for (const query of INTROSPECTION_QUERIES) {
      const outcome = await run(transport, gw, gw.platformToken, query);
      expect(outcome.errors ?? []).toEqual([]);
      expect(outcome.data).toBeTruthy();
    }
  });
});

describe('outside production', () => {
  let open: TestGateway;
  let closed: TestGateway;
  beforeAll(async () => {
    [open, closed] = await startGateways({}, { env: { KEYWARD_INTROSPECTION: 'false' } });
  });
  afterAll(() => Promise.all([open?.stop(), closed?.stop()]));

  it.each(TRANSPORTS)('keeps suggestions and answers introspection by default over %s', async (transport) => {
    const misspelled = await run(transport, open, open.platformToken, '{ me { emial } }');
    expect(misspelled.errors![0].message).toBe('Cannot query field "emial" on type "User". Did you mean "email"?');
    for (const query of INTROSPECTION_QUERIES) {
      const outcome = await run(transport, open, open.platformToken, query);
      expect(outcome.errors ?? []).toEqual([]);
    }
  });

  it.each(TRANSPORTS)('refuses introspection over %s when KEYWARD_INTROSPECTION=false', async (transport) => {
    for (const query of INTROSPECTION_QUERIES) {
      const outcome = await run(transport, closed, closed.platformToken, query);
      expect(errorCode(outcome)).toBe('GRAPHQL_VALIDATION_FAILED');
    }
  });
});
