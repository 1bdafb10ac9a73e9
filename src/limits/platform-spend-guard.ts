import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ErrorCode, KeywardError } from '../common/errors';
import { KeySource } from '../modules/credential/key-source';
import { TenantEntity } from '../modules/tenant/tenant.entity';
import { monthStartUtc } from './budget-guard';
import { PlatformSpendReservationEntity } from './platform-spend-reservation.entity';
import type { ReservationHolder } from './reservation-holder';

export const platformKeyDisabled = () =>
  new KeywardError(ErrorCode.PLATFORM_KEY_DISABLED, 'The operator has switched off the platform key for your tenant');

/**
 * The operator's cap on a tenant's platform-key spend per UTC month, enforced like the tenant's
 * own budget: before a chat on the platform key, its worst-case cost is reserved under a lock on
 * the tenant row, and platform-key spend this month + reservations in flight + this one must fit
 * the cap. The reservation is deleted in the transaction that records the usage, so concurrent
 * chats cannot together overspend the cap.
 */
export class PlatformSpendGuard {
  constructor(
    private readonly holder: ReservationHolder,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Returns the reservation id, or null when the tenant has no cap. Re-reads the operator's
   * switch under the lock, so a chat planned just before it was turned off is refused too.
   */
  async reserve(em: EntityManager, tenantId: string, worstCaseUsd: number): Promise<string | null> {
    return em.fork().transactional(async (tx) => {
      const tenant = await tx.findOneOrFail(TenantEntity, { id: tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!tenant.platformKeyEnabled) throw platformKeyDisabled();
      const cap = tenant.platformKeyMonthlyCapUsd;
      if (cap === null) return null;
      const now = this.now();
      const [{ spent, held }] = await tx.execute<Array<{ spent: string; held: string }>>(
        `select
           (select coalesce(sum(cost_usd), 0) from usage_records
             where tenant_id = ? and created_at >= ? and key_source = ?) as spent,
           (select coalesce(sum(amount_usd), 0) from platform_spend_reservations where tenant_id = ? and expires_at > ?) as held`,
        [tenantId, monthStartUtc(now), KeySource.PLATFORM, tenantId, now],
      );
      if (Number(spent) + Number(held) + worstCaseUsd > cap) {
        throw new KeywardError(
          ErrorCode.PLATFORM_BUDGET_EXCEEDED,
          "This request could exceed the operator's monthly cap on your tenant's platform-key spend; use a personal or tenant key, or ask the operator",
        );
      }
      const reservation = tx.create(PlatformSpendReservationEntity, {
        tenant: tenantId,
        amountUsd: worstCaseUsd,
        replicaId: this.holder.replicaId,
        expiresAt: new Date(now.getTime() + this.holder.leaseMs),
      });
      await tx.flush();
      return reservation.id;
    });
  }

  /** Gives a reservation back when its chat does not go ahead. */
  async release(em: EntityManager, reservationId: string | null): Promise<void> {
    if (reservationId) await em.fork().nativeDelete(PlatformSpendReservationEntity, { id: reservationId });
  }
}
