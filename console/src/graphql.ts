import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env';

/** Typed GraphQL documents, checked against schema.graphql when the console is built. */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; ID: string; JSON: unknown };
}>();

export { readFragment } from 'gql.tada';
export type { FragmentOf, ResultOf, VariablesOf } from 'gql.tada';
