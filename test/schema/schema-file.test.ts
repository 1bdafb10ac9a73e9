import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema } from 'graphql';
import { RESOLVERS } from '../../src/modules';
import { printGatewaySchema } from '../../src/server/schema-sdl';

const root = resolve(__dirname, '../..');

test('schema.graphql is exactly what the code emits (run `npm run schema` after changing types)', () => {
  const committed = readFileSync(resolve(root, 'schema.graphql'), 'utf8');
  expect(committed).toBe(printGatewaySchema(RESOLVERS));
});

test('the emitted schema is valid SDL that graphql-js can build', () => {
  const schema = buildSchema(printGatewaySchema(RESOLVERS));
  expect(schema.getQueryType()?.getFields().me).toBeDefined();
  expect(schema.getMutationType()?.getFields().createTenant).toBeDefined();
});
