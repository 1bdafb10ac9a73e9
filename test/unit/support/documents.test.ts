import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import * as documents from '../../support/documents';

const schema = buildSchema(readFileSync(resolve(__dirname, '../../../schema.graphql'), 'utf8'));
const all = Object.entries(documents).filter((entry): entry is [string, string] => typeof entry[1] === 'string');

test('test/support/documents.ts holds the documents', () => {
  expect(all.length).toBeGreaterThan(20);
});

test.each(all)('%s is valid against schema.graphql', (_name, source) => {
  expect(validate(schema, parse(source)).map((error) => error.message)).toEqual([]);
});
