import type { GatewayModule } from '../common/gateway-module';
import { BudgetReservationEntity } from './budget-reservation.entity';
import { PlatformSpendReservationEntity } from './platform-spend-reservation.entity';
import { RateLimitRecordEntity } from './rate-limit-record.entity';

/** Rate-limit, budget and platform-spend bookkeeping: tables only, no GraphQL fields. */
export const limitsModule: GatewayModule = {
  name: 'limits',
  entities: [RateLimitRecordEntity, BudgetReservationEntity, PlatformSpendReservationEntity],
  resolvers: [],
  createResolvers: () => [],
};
