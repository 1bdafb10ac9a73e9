import { anthropicKey } from '../support/fixtures';
import { type TestGateway } from '../support/gateway';
import { run, startGateway, TRANSPORTS } from './helpers';

/**
 * docs/security.md "Errors": a value typed inline into a document (a key in the wrong place) is
 * never repeated in an error message, over HTTP or WebSocket, nor written to the log.
 */

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.stop());

const KEY = anthropicKey();
const K = JSON.stringify(KEY);
const credential = (fields: string) => `mutation { setCredential(input: { ${fields} }) { id } }`;

/** Every place a literal can sit and be refused, with the key in it. */
const DOCUMENTS: Array<[string, string, string]> = [
  [
    'a list where a string is expected',
    credential(`provider: ANTHROPIC, scope: PERSONAL, apiKey: [${K}]`),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'an object where a string is expected',
    credential(`provider: ANTHROPIC, scope: PERSONAL, apiKey: { value: ${K} }`),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a string where an enum is expected',
    credential(`provider: ${K}, scope: PERSONAL, apiKey: "x"`),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a list of strings where an enum is expected',
    credential(`provider: [${K}], scope: PERSONAL, apiKey: "x"`),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a string where a boolean is expected',
    credential(`provider: ANTHROPIC, scope: PERSONAL, apiKey: "x", validate: ${K}`),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a string where an input object is expected',
    `mutation { setCredential(input: ${K}) { id } }`,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a list where a string is expected, nested in a list',
    `mutation { updateTenantPolicy(input: { allowedModels: [[${K}]] }) { id } }`,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a string where a number is expected',
    `mutation { updateTenantPolicy(input: { requestsPerMinute: ${K} }) { id } }`,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'an unknown input field holding it',
    credential(`provider: ANTHROPIC, scope: PERSONAL, apiKey: "x", bogus: ${K}`),
    'GRAPHQL_VALIDATION_FAILED',
  ],
  ['a directive argument', `{ me @include(if: ${K}) { id } }`, 'GRAPHQL_VALIDATION_FAILED'],
  ["a variable's default value", `query ($model: String = [${K}]) { me { id } }`, 'GRAPHQL_VALIDATION_FAILED'],
  ['a string where a field name is expected (parse error)', `{ me(${K}) { id } }`, 'GRAPHQL_PARSE_FAILED'],
  ['a block string where a selection is expected (parse error)', `{ me { """${KEY}""" } }`, 'GRAPHQL_PARSE_FAILED'],
  ['a model id', `mutation { setPreferredModel(model: ${K}) { id } }`, 'UNKNOWN_MODEL'],
];

describe.each(TRANSPORTS)('over %s', (transport) => {
  test.each(DOCUMENTS)('%s: refused without repeating the key', async (_case, document, code) => {
    const from = gw.logs.lines.length;
    const outcome = await run(transport, gw, gw.platformToken, document);
    expect(outcome.errors?.[0]?.extensions?.code).toBe(code);
    expect(outcome.text).not.toContain(KEY);
    // Not a recognisable piece of it either.
    expect(outcome.text).not.toContain(KEY.slice(13, 33));
    const logged = gw.logs.lines.slice(from).join('\n');
    expect(logged).not.toContain(KEY.slice(13, 33));
  });
});

test('a short unknown model id is repeated, a long one is not', async () => {
  for (const transport of TRANSPORTS) {
    const short = await run(
      transport,
      gw,
      gw.platformToken,
      'mutation { setPreferredModel(model: "claude-imaginary-9") { id } }',
    );
    expect(short.errors?.[0]).toMatchObject({
      message: 'Unknown model "claude-imaginary-9"',
      extensions: { code: 'UNKNOWN_MODEL' },
    });
    const long = `claude-${'x'.repeat(60)}`;
    const refused = await run(
      transport,
      gw,
      gw.platformToken,
      `mutation { setPreferredModel(model: "${long}") { id } }`,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNKNOWN_MODEL');
    expect(refused.text).not.toContain('x'.repeat(20));
  }
});

test('messages keep what is useful: the expected type, and value-free reasons', async () => {
  const list = await run('http', gw, gw.platformToken, DOCUMENTS[0][1]);
  expect(list.errors?.[0]?.message).toBe('String cannot represent a non string value.');
  const object = await run('http', gw, gw.platformToken, DOCUMENTS[5][1]);
  expect(object.errors?.[0]?.message).toBe(
    'Expected value of type "SetCredentialInput!", found a value that does not match it.',
  );
  const parse = await run('http', gw, gw.platformToken, DOCUMENTS[11][1]);
  expect(parse.errors?.[0]?.message).toBe('Syntax Error: Expected Name, found String.');
  const unknownField = await run('http', gw, gw.platformToken, DOCUMENTS[8][1]);
  expect(unknownField.errors?.[0]?.message).toBe('Field "bogus" is not defined by type "SetCredentialInput".');
});
