import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ErrorCode, KeywardError } from '../common/errors';
import { TenantEntity } from '../modules/tenant/tenant.entity';
import { BudgetReservationEntity } from './budget-reservation.entity';
import type { ReservationHolder } from './reservation-holder';

export const monthStartUtc = (now: Date): Date => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

/**
 * Monthly budgets. Before a request, its worst-case cost is reserved under a lock on the
 * tenant row: spent this month + held by requests in flight + this one must fit the budget.
 * The reservation is deleted in the transaction that writes the actual usage, so concurrent
 * requests can never together exceed the budget by more than one request's estimate error.
 */
export class BudgetGuard {
  constructor(
    private readonly holder: ReservationHolder,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Returns the reservation id, or null when the tenant has no budget. */
  async reserve(em: EntityManager, tenantId: string, worstCaseUsd: number): Promise<string | null> {
    return em.fork().transactional(async (tx) => {
      const tenant = await tx.findOneOrFail(TenantEntity, { id: tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (tenant.monthlyBudgetUsd === null) return null;
      const now = this.now();
      const [{ spent, held }] = await tx.execute<Array<{ spent: string; held: string }>>(
        `select
           (select coalesce(sum(cost_usd), 0) from usage_records where tenant_id = ? and created_at >= ?) as spent,
           (select coalesce(sum(amount_usd), 0) from budget_reservations where tenant_id = ? and expires_at > ?) as held`,
        [tenantId, monthStartUtc(now), tenantId, now],
      );
      const committed = Number(spent) + Number(held);
      if (committed + worstCaseUsd > tenant.monthlyBudgetUsd) {
        // The tenant's spend is not in the error: members may only see their own usage.
        throw new KeywardError(ErrorCode.BUDGET_EXCEEDED, "This request could exceed the tenant's monthly budget");
      }
      const reservation = tx.create(BudgetReservationEntity, {
        tenant: tenantId,
        amountUsd: worstCaseUsd,
        replicaId: this.holder.replicaId,
        expiresAt: new Date(now.getTime() + this.holder.leaseMs),
      });
      await tx.flush();
      return reservation.id;
    });
  }

  /**
   * Corrects a reservation once the provider has counted the request's input: it becomes
   * `worstCaseUsd` (the real input's cost plus every output token still possible). Shrinking
   * needs no lock (it only makes room); growing is checked like a new reservation, and throws
   * BUDGET_EXCEEDED when the budget cannot cover it (the reservation is then left as it was).
   * A reservation already released (the chat ended) stays released.
   */
  async resize(em: EntityManager, tenantId: string, reservationId: string, worstCaseUsd: number): Promise<void> {
    const shrunk = await em
      .getConnection()
      .execute<Array<{ id: string }>>(
        'update budget_reservations set amount_usd = ? where id = ? and amount_usd >= ? returning id',
        [worstCaseUsd, reservationId, worstCaseUsd],
      );
    if (shrunk.length > 0) return;
    await em.fork().transactional(async (tx) => {
      const tenant = await tx.findOne(TenantEntity, { id: tenantId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const reservation = await tx.findOne(BudgetReservationEntity, { id: reservationId });
      if (!tenant || !reservation) return;
      if (tenant.monthlyBudgetUsd !== null) {
        const now = this.now();
        const [{ spent, held }] = await tx.execute<Array<{ spent: string; held: string }>>(
          `select
             (select coalesce(sum(cost_usd), 0) from usage_records where tenant_id = ? and created_at >= ?) as spent,
             (select coalesce(sum(amount_usd), 0) from budget_reservations where tenant_id = ? and expires_at > ? and id <> ?) as held`,
          [tenantId, monthStartUtc(now), tenantId, now, reservationId],
        );
        if (Number(spent) + Number(held) + worstCaseUsd > tenant.monthlyBudgetUsd) {
          throw new KeywardError(
            ErrorCode.BUDGET_EXCEEDED,
            "This request's input leaves no room in the tenant's monthly budget for its output",
          );
        }
      }
      reservation.amountUsd = worstCaseUsd;
      await tx.flush();
    });
  }

  /** Gives a reservation back when its chat does not go ahead. */
  async release(em: EntityManager, reservationId: string | null): Promise<void> {
    if (reservationId) await em.fork().nativeDelete(BudgetReservationEntity, { id: reservationId });
  }

  /** Releases a reservation inside the transaction that records the actual usage. */
  async settle(tx: EntityManager, reservationId: string | null): Promise<void> {
    if (reservationId) await tx.nativeDelete(BudgetReservationEntity, { id: reservationId });
  }
}
