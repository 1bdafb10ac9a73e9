import type { GatewayModule } from '../../common/gateway-module';
import { DataKeyEntity } from '../../vault/data-key.entity';
import { DataKeyResolver } from './data-key.resolver';
import type { KeyManagementService } from './key-management.service';

/** Tenant data keys: their table, and the rotation and re-wrap mutations. */
export const dataKeyModule: GatewayModule<{ keyManagement: KeyManagementService }> = {
  name: 'data-key',
  entities: [DataKeyEntity],
  resolvers: [DataKeyResolver],
  createResolvers: ({ keyManagement }) => [new DataKeyResolver(keyManagement)],
};
