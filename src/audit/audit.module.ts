import type { GatewayModule } from '../common/gateway-module';
import { AuditKeyEntity } from '../vault/audit-key.entity';
import { AuditChainHeadEntity } from './audit-chain-head.entity';
import { AuditEventEntity } from './audit-event.entity';
import { AuditResolver } from './audit.resolver';
import type { AuditService } from './audit.service';

export const auditModule: GatewayModule<{ auditQueries: AuditService }> = {
  name: 'audit',
  entities: [AuditEventEntity, AuditChainHeadEntity, AuditKeyEntity],
  resolvers: [AuditResolver],
  createResolvers: ({ auditQueries }) => [new AuditResolver(auditQueries)],
};
