import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env';

/** Typed GraphQL documents, checked against schema.graphql when the console is built. */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; ID: string };
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';
