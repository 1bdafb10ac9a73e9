import type { GatewayModule } from '../../common/gateway-module';
import type { DataKeyService } from '../../vault/data-key.service';
import { TenantEntity } from './tenant.entity';
import { TenantResolver } from './tenant.resolver';
import type { TenantService } from './tenant.service';

export const tenantModule: GatewayModule<{ tenants: TenantService; dataKeys: DataKeyService }> = {
  name: 'tenant',
  entities: [TenantEntity],
  resolvers: [TenantResolver],
  createResolvers: ({ tenants, dataKeys }) => [new TenantResolver(tenants, dataKeys)],
};
