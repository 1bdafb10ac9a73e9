import { TenantEntity } from '../modules/tenant/tenant.entity';
import { UserEntity } from '../modules/user/user.entity';
import { ApiTokenEntity } from '../modules/token/api-token.entity';
import { DataKeyEntity } from '../vault/data-key.entity';
import { CredentialEntity } from '../modules/credential/credential.entity';
import { AgentEntity } from '../modules/agent/agent.entity';
import { ConversationEntity } from '../modules/conversation/conversation.entity';
import { MessageEntity } from '../modules/conversation/message.entity';
import { UsageRecordEntity } from '../modules/usage/usage-record.entity';
import { AuditEventEntity } from '../audit/audit-event.entity';
import { AuditChainHeadEntity } from '../audit/audit-chain-head.entity';
import { RateLimitRecordEntity } from '../limits/rate-limit-record.entity';
import { BudgetReservationEntity } from '../limits/budget-reservation.entity';
import { PlatformSpendReservationEntity } from '../limits/platform-spend-reservation.entity';
import { AuditKeyEntity } from '../vault/audit-key.entity';

/** Every entity MikroORM manages; migrations/ must build exactly their schema. */
export const entities = [
  TenantEntity,
  UserEntity,
  ApiTokenEntity,
  DataKeyEntity,
  CredentialEntity,
  AgentEntity,
  ConversationEntity,
  MessageEntity,
  UsageRecordEntity,
  AuditEventEntity,
  AuditChainHeadEntity,
  RateLimitRecordEntity,
  BudgetReservationEntity,
  PlatformSpendReservationEntity,
  AuditKeyEntity,
];
