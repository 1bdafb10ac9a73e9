import type { EntityClass } from '@mikro-orm/core';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResolverClass = new (...args: any[]) => object;

/**
 * What one area of the gateway registers: its tables, its GraphQL resolvers and how to build
 * them from the shared services. src/modules.ts lists every area once; the app, the schema and
 * the ORM all read that list.
 */
export interface GatewayModule<Services = unknown> {
  readonly name: string;
  /** The entities MikroORM manages for this area; migrations/ must build exactly their tables. */
  readonly entities: readonly EntityClass<object>[];
  /** Resolver classes, in the order their fields appear in the schema. */
  readonly resolvers: readonly ResolverClass[];
  /** One instance of each class in `resolvers`, given the services they call. */
  readonly createResolvers: (services: Services) => readonly object[];
}
