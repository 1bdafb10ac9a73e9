import type { GatewayModule } from '../common/gateway-module';
import { BudgetReservationEntity } from './budget-reservation.entity';
import { PlatformSpendReservationEntity } from './platform-spend-reservation.entity';
import { RateLimitRecordEntity } from './rate-limit-record.entity';
import { StreamLeaseEntity } from './stream-lease.entity';

/** Rate-limit, budget, platform-spend and stream-lease bookkeeping: tables only, no GraphQL fields. */
export const limitsModule: GatewayModule = {
  name: 'limits',
  entities: [RateLimitRecordEntity, BudgetReservationEntity, PlatformSpendReservationEntity, StreamLeaseEntity],
  resolvers: [],
  createResolvers: () => [],
};
