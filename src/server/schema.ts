import 'reflect-metadata';
import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchemaSync, type ContainerType, type NonEmptyArray } from 'type-graphql';
import { RoleAuthChecker } from '../auth/auth-checker';
import type { ResolverClass } from '../common/gateway-module';
import { validateInput } from '../common/validation';

/**
 * The code-first schema of the given resolvers (src/modules.ts lists them). `container` supplies
 * resolver instances at run time; the schema file emitter passes none, since it only prints types.
 */
export function buildGatewaySchema(resolvers: readonly ResolverClass[], container?: ContainerType): GraphQLSchema {
  const schema = buildSchemaSync({
    resolvers: nonEmpty(resolvers),
    container,
    authChecker: RoleAuthChecker,
    authMode: 'error',
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    validateFn: validateInput,
    pubSub: createPubSub(),
    emitSchemaFile: false,
  });
  passEventsThrough(schema, 'chat');
  return schema;
}

function nonEmpty(resolvers: readonly ResolverClass[]): NonEmptyArray<ResolverClass> {
  if (resolvers.length === 0) throw new Error('The schema needs at least one resolver');
  return [...resolvers] as NonEmptyArray<ResolverClass>;
}

/**
 * graphql-js resolves a subscription field again for every event. The chat's events are
 * already the values to send, but type-graphql's resolve wrapper rebuilds the field's `input`
 * argument as a class instance for each of them (fifty times for a fifty-token reply); this
 * replaces it with the identity. Authentication and validation happen once, when the stream starts.
 */
function passEventsThrough(schema: GraphQLSchema, field: string): void {
  const subscription = schema.getSubscriptionType()?.getFields()[field];
  if (!subscription) throw new Error(`Subscription.${field} is missing from the schema`);
  subscription.resolve = (event: unknown) => event;
}
