import { getIntrospectionQuery } from 'graphql';
import { type TestGateway } from '../support/gateway';
import { errorCode } from '../support/graphql-client';
import { countTokens, run, startGateway, TRANSPORTS, type Outcome } from './helpers';
import { CHAT } from '../support/documents';

const VALIDATION = 'GRAPHQL_VALIDATION_FAILED';
const PARSE = 'GRAPHQL_PARSE_FAILED';

const expectAccepted = (outcome: Outcome): void => {
  expect(outcome.errors ?? []).toEqual([]);
  expect(outcome.data).toBeTruthy();
};

const expectRefused = (outcome: Outcome, code: string, message: RegExp): void => {
  expect(outcome.data ?? null).toBeNull();
  expect(outcome.errors?.length).toBeGreaterThan(0);
  expect(outcome.errors!.map((error) => error.extensions?.code)).toEqual(outcome.errors!.map(() => code));
  expect(outcome.errors!.map((error) => error.message).join('\n')).toMatch(message);
  if (outcome.status !== undefined) expect(outcome.status).toBe(400);
};

const ME_FOUR = '{ me { id email role name } }';
const ME_FIVE = '{ me { id email role name preferredModel } }';

interface LimitCase {
  limit: string;
  env: Record<string, string>;
  atLimit: string;
  overLimit: string;
  code: string;
  message: RegExp;
}

/** Each limit set small on its own gateway, so the queries stay short and fail for that reason only. */
const CASES: LimitCase[] = [
  {
    limit: 'depth',
    env: { KEYWARD_MAX_DEPTH: '3' },
    atLimit: '{ me { tenant { id } } }',
    overLimit: '{ me { tenant { policy { defaultModel } } } }',
    code: VALIDATION,
    message: /^Query depth limit of 3 exceeded, found 4\.$/m,
  },
  {
    limit: 'aliases',
    env: { KEYWARD_MAX_ALIASES: '2' },
    atLimit: '{ a: me { id } b: me { email } }',
    overLimit: '{ a: me { id } b: me { email } c: me { role } }',
    code: VALIDATION,
    message: /^Aliases limit of 2 exceeded, found 3\.$/m,
  },
  {
    limit: 'directives',
    env: { KEYWARD_MAX_DIRECTIVES: '2' },
    atLimit: '{ me { id @include(if: true) email @skip(if: false) } }',
    overLimit: '{ me { id @include(if: true) email @skip(if: false) role @include(if: true) } }',
    code: VALIDATION,
    message: /^Directives limit of 2 exceeded, found 3\.$/m,
  },
  {
    limit: 'tokens',
    env: { KEYWARD_MAX_TOKENS: String(countTokens(ME_FOUR)) },
    atLimit: ME_FOUR,
    overLimit: ME_FIVE,
    code: PARSE,
    message: /^Syntax Error: Document contains more than 9 tokens\. Parsing aborted\.$/m,
  },
  {
    // me: objectCost 2 + 1.5 × (one per scalar): four scalars cost 8, five 9.5.
    limit: 'cost',
    env: { KEYWARD_MAX_COST: '8' },
    atLimit: ME_FOUR,
    overLimit: ME_FIVE,
    code: VALIDATION,
    message: /^Query Cost limit of 8 exceeded, found 9\.5\.$/m,
  },
];

describe.each(CASES)('the $limit limit', ({ env, atLimit, overLimit, code, message }) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ env });
  });
  afterAll(() => gw?.stop());

  it.each(TRANSPORTS)('lets a query at the limit through over %s', async (transport) => {
    expectAccepted(await run(transport, gw, gw.platformToken, atLimit));
  });

  it.each(TRANSPORTS)('refuses a query just over it over %s, before any resolver runs', async (transport) => {
    expectRefused(await run(transport, gw, gw.platformToken, overLimit), code, message);
    // Limits apply before authentication: an anonymous caller gets the same answer, not UNAUTHENTICATED.
    expectRefused(await run(transport, gw, undefined, overLimit), code, message);
  });
});

describe('the default limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.stop());

  const AUDIT_NODE = 'id seq at tenantId actorId action targetType targetId outcome requestId ip detail hash';
  const fullAuditPage = (first: number, alias = '') =>
    `${alias}auditEvents(first: ${first}) { edges { cursor node { ${AUDIT_NODE} } } pageInfo { hasNextPage endCursor } }`;

  it('passes the chat subscription selecting every union member over ws (it fails later, for want of a key)', async () => {
    const outcome = await run('ws', gw, gw.platformToken, CHAT, { input: { message: 'hello' } });
    expect(errorCode(outcome)).toBeDefined();
    expect([VALIDATION, PARSE]).not.toContain(errorCode(outcome));
  });

  describe.each(TRANSPORTS)('over %s', (transport) => {
    it("passes the contract's deepest and widest operations", async () => {
      const token = gw.platformToken;
      // Depth 6: the deepest path in the contract.
      expectAccepted(
        await run(
          transport,
          gw,
          token,
          `mutation ($input: IssueApiTokenInput!) {
            issueApiToken(input: $input) {
              token
              apiToken { id name user { id email role tenant { id name policy { allowedModels defaultModel allowPlatformKey } } } }
            }
          }`,
          { input: { name: `limits-${transport}-${Date.now()}` } },
        ),
      );
      // Depth 6 again through named fragments: fragments do not add a level.
      expectAccepted(
        await run(
          transport,
          gw,
          token,
          `query { credentials { ...Cred } me { ...Me } }
           fragment Cred on Credential { id owner { ...Me } }
           fragment Me on User { id tenant { policy { allowedModels } } }`,
        ),
      );
      expectAccepted(await run(transport, gw, token, '{ me { tenant { policy { allowedModels } } } }'));
      expectAccepted(
        await run(
          transport,
          gw,
          token,
          `{ auditEvents { edges { node { ${AUDIT_NODE} } } pageInfo { hasNextPage endCursor } } }`,
        ),
      );
      // A full page of the largest size auditEvents allows (cost ≈ 31,600, see query-limits.ts).
      expectAccepted(await run(transport, gw, token, `{ ${fullAuditPage(500)} }`));
      // The full introspection query (introspection is on outside production).
      const introspection = await run(
        transport,
        gw,
        token,
        getIntrospectionQuery({
          descriptions: true,
          specifiedByUrl: true,
          directiveIsRepeatable: true,
          schemaDescription: true,
          inputValueDeprecation: true,
        }),
      );
      expectAccepted(introspection);
    });

    it('refuses depth 7', async () => {
      // Nothing in the schema is that deep, so the query is invalid anyway; the depth error is reported too.
      const outcome = await run(
        transport,
        gw,
        gw.platformToken,
        '{ me { tenant { policy { a { b { c { d } } } } } } }',
      );
      expect(errorCode(outcome)).toBe(VALIDATION);
      expect(outcome.errors!.map((error) => error.message)).toContain('Query depth limit of 6 exceeded, found 7.');
    });

    it('allows 15 aliases and refuses 16', async () => {
      const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
      expectAccepted(await run(transport, gw, gw.platformToken, aliases(15)));
      expectRefused(
        await run(transport, gw, gw.platformToken, aliases(16)),
        VALIDATION,
        /^Aliases limit of 15 exceeded, found 16\.$/,
      );
    });

    it('allows 50 directives and refuses 51', async () => {
      const directives = (n: number) =>
        `{ me { ${Array.from({ length: n }, () => 'id @skip(if: false)').join(' ')} } }`;
      expectAccepted(await run(transport, gw, gw.platformToken, directives(50)));
      expectRefused(
        await run(transport, gw, gw.platformToken, directives(51)),
        VALIDATION,
        /^Directives limit of 50 exceeded, found 51\.$/,
      );
    });

    it('allows 1000 tokens and refuses 1001', async () => {
      // Aliased __typename (3 tokens each, not counted as aliases): distinct response keys keep
      // graphql's overlapping-fields check cheap, unlike a thousand repeats of one field.
      const padded = (tokens: number) => {
        const aliased = Math.floor((tokens - 2) / 3);
        const plain = tokens - 2 - 3 * aliased;
        return `{ ${'__typename '.repeat(plain)}${Array.from({ length: aliased }, (_, i) => `t${i}: __typename`).join(' ')} }`;
      };
      expect(countTokens(padded(1000))).toBe(1000);
      expectAccepted(await run(transport, gw, gw.platformToken, padded(1000)));
      expectRefused(
        await run(transport, gw, gw.platformToken, padded(1001)),
        PARSE,
        /^Syntax Error: Document contains more than 1000 tokens\. Parsing aborted\.$/,
      );
    });

    it('refuses a cost over 50,000: two full audit pages', async () => {
      expectRefused(
        await run(transport, gw, gw.platformToken, `{ ${fullAuditPage(500, 'a: ')} ${fullAuditPage(500, 'b: ')} }`),
        VALIDATION,
        /^Query Cost limit of 50000 exceeded, found 63125\.$/,
      );
    });
  });
});
