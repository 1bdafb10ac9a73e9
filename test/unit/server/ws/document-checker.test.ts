import { buildSchema, GraphQLError, parse, type DocumentNode, type ValidationRule } from 'graphql';
import { DocumentChecker } from '../../../../src/server/ws/document-checker';

const schema = buildSchema(`
  type Query { hello(name: String!): String }
  type Subscription { ticks: Int }
`);

/** Counts parses, so the tests can tell a cached document from a checked one. */
function checker(rules: ValidationRule[] = []) {
  const parses: string[] = [];
  const limits = {
    webSocketValidationRules: rules,
    parse: (source: string): DocumentNode => {
      parses.push(source);
      return parse(source);
    },
  };
  return { documents: new DocumentChecker(schema, limits), parses };
}

describe('DocumentChecker', () => {
  test('a valid document comes back parsed', () => {
    const { documents } = checker();
    const checked = documents.check('{ hello(name: "a") }');
    expect('document' in checked && checked.document.kind).toBe('Document');
  });

  test('a syntax error is GRAPHQL_PARSE_FAILED, with its location', () => {
    const { documents } = checker();
    const checked = documents.check('{ hello(');
    expect('errors' in checked).toBe(true);
    if (!('errors' in checked)) return;
    expect(checked.errors).toHaveLength(1);
    expect(checked.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(checked.errors[0].locations).toEqual([{ line: 1, column: 9 }]);
  });

  test('every validation error is GRAPHQL_VALIDATION_FAILED', () => {
    const { documents } = checker();
    const checked = documents.check('{ hello nope }');
    expect('errors' in checked).toBe(true);
    if (!('errors' in checked)) return;
    expect(checked.errors.length).toBeGreaterThanOrEqual(2);
    expect(checked.errors.every((error) => error.extensions.code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
  });

  test("the limits' own validation rules run after graphql's", () => {
    const noSubscriptions: ValidationRule = (context) => ({
      OperationDefinition: (node) => {
        if (node.operation === 'subscription') context.reportError(new GraphQLError('no subscriptions here'));
      },
    });
    const { documents } = checker([noSubscriptions]);
    const checked = documents.check('subscription { ticks }');
    expect('errors' in checked && checked.errors.map((error) => error.message)).toEqual(['no subscriptions here']);
  });

  test('a valid query text is parsed once, then served from the cache', () => {
    const { documents, parses } = checker();
    const first = documents.check('{ hello(name: "a") }');
    const second = documents.check('{ hello(name: "a") }');
    expect(parses).toHaveLength(1);
    expect('document' in second && 'document' in first && second.document).toBe('document' in first && first.document);
  });

  test('invalid texts are checked again every time: they are never cached', () => {
    const { documents, parses } = checker();
    documents.check('{ nope }');
    documents.check('{ nope }');
    expect(parses).toHaveLength(2);
  });

  test('an unusually long valid text is not cached', () => {
    const { documents, parses } = checker();
    const long = `{ hello(name: "${'x'.repeat(17_000)}") }`;
    documents.check(long);
    documents.check(long);
    expect(parses).toHaveLength(2);
  });
});
