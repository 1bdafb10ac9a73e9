import type { GatewayModule } from '../../common/gateway-module';
import { DataKeyEntity } from '../../vault/data-key.entity';
import { DataKeyResolver } from '../../vault/data-key.resolver';
import type { KeyManagementService } from '../../vault/key-management.service';

/** Tenant data keys: their table, and the rotation and re-wrap mutations. */
export const keyManagementModule: GatewayModule<{ keyManagement: KeyManagementService }> = {
  name: 'key-management',
  entities: [DataKeyEntity],
  resolvers: [DataKeyResolver],
  createResolvers: ({ keyManagement }) => [new DataKeyResolver(keyManagement)],
};
