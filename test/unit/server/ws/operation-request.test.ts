import { buildSchema, parse } from 'graphql';
import { coerceVariables, findOperation } from '../../../../src/server/ws/operation-request';

const schema = buildSchema(`type Query { hello(name: String!, times: Int): String }`);
const document = parse(`
  query One($name: String!, $times: Int) { hello(name: $name, times: $times) }
  query Two { hello(name: "b") }
`);

describe('findOperation', () => {
  test('the named operation of the document', () => {
    const found = findOperation(document, 'Two');
    expect('operation' in found && found.operation.name?.value).toBe('Two');
  });

  test('the only operation when no name is given', () => {
    const found = findOperation(parse('{ hello(name: "a") }'), undefined);
    expect('operation' in found && found.operation.operation).toBe('query');
  });

  test.each([
    ['no name among several', null],
    ['a name the document does not have', 'Three'],
  ])('%s is OPERATION_RESOLUTION_FAILURE', (_case, name) => {
    const found = findOperation(document, name);
    expect('errors' in found && found.errors.map((error) => error.extensions.code)).toEqual([
      'OPERATION_RESOLUTION_FAILURE',
    ]);
  });
});

describe('coerceVariables', () => {
  const one = (() => {
    const found = findOperation(document, 'One');
    if (!('operation' in found)) throw new Error('One is missing');
    return found.operation;
  })();

  test('values of the declared types come back coerced', () => {
    expect(coerceVariables(schema, one, { name: 'a', times: 2 })).toEqual({ variableValues: { name: 'a', times: 2 } });
  });

  test('missing optional variables stay absent; no variables object at all is an empty one', () => {
    expect(coerceVariables(schema, one, { name: 'a' })).toEqual({ variableValues: { name: 'a' } });
    const none = findOperation(document, 'Two');
    if (!('operation' in none)) throw new Error('Two is missing');
    expect(coerceVariables(schema, none.operation, undefined)).toEqual({ variableValues: {} });
  });

  test('each wrong or missing variable is BAD_USER_INPUT', () => {
    const coerced = coerceVariables(schema, one, { times: 'many' });
    expect('errors' in coerced && coerced.errors.map((error) => error.extensions.code)).toEqual([
      'BAD_USER_INPUT',
      'BAD_USER_INPUT',
    ]);
  });
});
