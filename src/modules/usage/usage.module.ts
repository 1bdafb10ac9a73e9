import type { GatewayModule } from '../../common/gateway-module';
import { UsageRecordEntity } from './usage-record.entity';
import { UsageResolver } from './usage.resolver';
import type { UsageService } from './usage.service';

export const usageModule: GatewayModule<{ usage: UsageService }> = {
  name: 'usage',
  entities: [UsageRecordEntity],
  resolvers: [UsageResolver],
  createResolvers: ({ usage }) => [new UsageResolver(usage)],
};
