import { lexicographicSortSchema, printSchema } from 'graphql';
import type { ResolverClass } from '../common/gateway-module';
import { buildGatewaySchema } from './schema';

const HEADER = '# Generated from the code by `npm run schema`; do not edit. A test fails when it drifts.\n\n';

/** The served schema as SDL, sorted so the file diffs cleanly. */
export const printGatewaySchema = (resolvers: readonly ResolverClass[]): string =>
  HEADER + printSchema(lexicographicSortSchema(buildGatewaySchema(resolvers))) + '\n';
