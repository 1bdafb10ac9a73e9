import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RESOLVERS } from '../modules';
import { printGatewaySchema } from '../server/schema-sdl';

const target = resolve(process.argv[2] ?? 'schema.graphql');
writeFileSync(target, printGatewaySchema(RESOLVERS));
console.log(`wrote ${target}`);
