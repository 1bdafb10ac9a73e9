import { auditModule } from './audit/audit.module';
import { chatModule } from './chat/chat.module';
import { limitsModule } from './limits/limits.module';
import { agentModule } from './modules/agent/agent.module';
import { conversationModule } from './modules/conversation/conversation.module';
import { credentialModule } from './modules/credential/credential.module';
import { dataKeyModule } from './modules/data-key/data-key.module';
import { modelModule } from './modules/model/model.module';
import { tenantModule } from './modules/tenant/tenant.module';
import { apiTokenModule } from './modules/token/api-token.module';
import { usageModule } from './modules/usage/usage.module';
import { userModule } from './modules/user/user.module';

/**
 * Every area of the gateway, once. Their resolvers make the schema (fields in this order), their
 * entities the ORM's tables, and app.ts builds their resolvers from the services. Adding an area
 * is its module file, a line here, and its services in createServices.
 */
export const MODULES = [
  tenantModule,
  userModule,
  apiTokenModule,
  credentialModule,
  dataKeyModule,
  agentModule,
  conversationModule,
  modelModule,
  chatModule,
  auditModule,
  usageModule,
  limitsModule,
] as const;

export const RESOLVERS = MODULES.flatMap((module) => module.resolvers);

/** Every entity MikroORM manages; migrations/ must build exactly their schema. */
export const ENTITIES = MODULES.flatMap((module) => module.entities);
