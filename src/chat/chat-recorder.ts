import type { EntityManager } from '@mikro-orm/postgresql';
import { MessageEntity, type MessageStatus } from '../modules/conversation/message.entity';
import { MessageRole } from '../modules/conversation/message-role';
import { UsageRecordEntity, type UsageStatus } from '../modules/usage/usage-record.entity';
import { BudgetReservationEntity } from '../limits/budget-reservation.entity';
import type { ChatPlan } from './chat-plan';

export interface ChatOutcome {
  status: UsageStatus;
  text: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  ttftMs: number | null;
  totalMs: number;
  errorCode: string | null;
}

const MESSAGE_STATUS: Record<UsageStatus, MessageStatus> = { completed: 'complete', cancelled: 'cancelled', failed: 'failed' };

/** Writes the assistant's (possibly partial) reply and the usage row, and releases the budget reservation, together. */
export async function recordChatOutcome(em: EntityManager, plan: ChatPlan, outcome: ChatOutcome): Promise<void> {
  // Without the user's turn (its write failed, and was logged) there is no conversation to
  // reply in, but the usage is still recorded and the reservation released.
  const turnSaved = await plan.turnSaved.then(
    () => true,
    () => false,
  );
  await em.transactional(async (tx) => {
    if (turnSaved) {
      tx.create(MessageEntity, {
        conversation: plan.conversationId,
        role: MessageRole.ASSISTANT,
        content: outcome.text,
        model: plan.model.id,
        keySource: plan.key.source,
        status: MESSAGE_STATUS[outcome.status],
      });
    }
    tx.create(UsageRecordEntity, {
      tenant: plan.tenantId,
      user: plan.userId,
      credential: plan.key.credentialId,
      keySource: plan.key.source,
      model: plan.model.id,
      requestId: plan.requestId,
      inputTokens: outcome.inputTokens,
      outputTokens: outcome.outputTokens,
      costUsd: outcome.costUsd,
      ttftMs: outcome.ttftMs,
      totalMs: outcome.totalMs,
      status: outcome.status,
      errorCode: outcome.errorCode,
    });
    await tx.flush();
    if (plan.reservationId) await tx.nativeDelete(BudgetReservationEntity, { id: plan.reservationId });
  });
}
