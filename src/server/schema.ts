import 'reflect-metadata';
import { createPubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchemaSync, type ContainerType, type NonEmptyArray } from 'type-graphql';
import { RoleAuthChecker } from '../auth/auth-checker';
import { validateInput } from '../common/validation';
import { ApiTokenResolver } from '../modules/token/api-token.resolver';
import { TenantResolver } from '../modules/tenant/tenant.resolver';
import { UserResolver } from '../modules/user/user.resolver';
import { CredentialResolver } from '../modules/credential/credential.resolver';
import { DataKeyResolver } from '../modules/data-key/data-key.resolver';
import { AgentResolver } from '../modules/agent/agent.resolver';
import { ConversationResolver } from '../modules/conversation/conversation.resolver';
import { ModelResolver } from '../modules/model/model.resolver';
import { ChatResolver } from '../chat/chat.resolver';
import { AuditResolver } from '../audit/audit.resolver';
import { UsageResolver } from '../modules/usage/usage.resolver';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const RESOLVERS: NonEmptyArray<new (...args: any[]) => object> = [
  TenantResolver,
  UserResolver,
  ApiTokenResolver,
  CredentialResolver,
  DataKeyResolver,
  AgentResolver,
  ConversationResolver,
  ModelResolver,
  ChatResolver,
  AuditResolver,
  UsageResolver,
];

/**
 * The code-first schema. `container` supplies resolver instances at run time; the schema file
 * emitter passes none, since it only prints types.
 */
export function buildGatewaySchema(container?: ContainerType): GraphQLSchema {
  const schema = buildSchemaSync({
    resolvers: RESOLVERS,
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
