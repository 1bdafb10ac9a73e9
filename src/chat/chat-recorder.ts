import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog, AuditRecord } from '../audit/audit-log';
import type { MessageStatus } from '../modules/conversation/message.entity';
import { MessageRole } from '../modules/conversation/message-role';
import type { UsageStatus } from '../modules/usage/usage-record.entity';
import type { ChatPlan, StartedChat } from './chat-plan';

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
const TITLE_LENGTH = 80;

// Every chat writes these rows, so they are written with plain SQL (columns of ConversationEntity,
// MessageEntity, UsageRecordEntity and BudgetReservationEntity) in as few round trips as possible
// instead of through the unit of work; test/chat reads them back through the entities.

/**
 * The user's turn (and the conversation, for its first turn) and the audit event for the key's
 * use, in one transaction: three round trips and one commit besides BEGIN.
 */
export async function recordChatStart(em: EntityManager, audit: AuditLog, plan: ChatPlan, keyUse: AuditRecord): Promise<void> {
  const { turn } = plan;
  const message = [randomUUID(), turn.conversationId, MessageRole.USER, turn.message, new Date()];
  await em.transactional(async (tx) => {
    if (turn.isNew) {
      const title = turn.message.trim().slice(0, TITLE_LENGTH);
      await tx.execute(INSERT_CONVERSATION_AND_MESSAGE, [
        turn.conversationId,
        plan.tenantId,
        plan.userId,
        turn.agentId,
        title,
        new Date(),
        ...message,
      ]);
    } else {
      await tx.execute(INSERT_MESSAGE, message);
    }
    // Last, so the chain's head is locked only for the commit.
    await audit.appendWithin(tx, keyUse);
  });
}

/**
 * The assistant's (possibly partial) reply, the usage row and the release of the budget
 * reservation: one statement, so together or not at all, in one round trip.
 */
export async function recordChatOutcome(em: EntityManager, chat: StartedChat, outcome: ChatOutcome): Promise<void> {
  // Without the user's turn (its write failed, and was logged) there is no conversation to
  // reply in, but the usage is still recorded and the reservation released.
  const turnSaved = await chat.turnSaved.then(
    () => true,
    () => false,
  );
  const now = new Date();
  await em.execute(RECORD_OUTCOME, [
    // the reply, if its turn was saved
    randomUUID(),
    chat.conversationId,
    MessageRole.ASSISTANT,
    outcome.text,
    chat.model.id,
    chat.key.source,
    MESSAGE_STATUS[outcome.status],
    now,
    turnSaved,
    // the usage row
    randomUUID(),
    chat.tenantId,
    chat.userId,
    chat.key.credentialId,
    chat.key.source,
    chat.model.id,
    chat.requestId,
    outcome.inputTokens,
    outcome.outputTokens,
    outcome.costUsd,
    outcome.ttftMs,
    outcome.totalMs,
    outcome.status,
    outcome.errorCode,
    now,
    // the reservation released (none: matches no row)
    chat.reservationId,
  ]);
}

const MESSAGE_COLUMNS = '(id, conversation_id, role, content, model, key_source, status, created_at)';

const INSERT_MESSAGE = `insert into messages ${MESSAGE_COLUMNS} values (?, ?, ?, ?, null, null, 'complete', ?)`;

const INSERT_CONVERSATION_AND_MESSAGE = `with conversation as (
    insert into conversations (id, tenant_id, owner_id, agent_id, title, created_at) values (?, ?, ?, ?, ?, ?)
  )
  ${INSERT_MESSAGE}`;

const RECORD_OUTCOME = `with reply as (
    insert into messages ${MESSAGE_COLUMNS}
    select ?::uuid, ?::uuid, ?, ?, ?, ?, ?, ?::timestamptz where ?::boolean
  ), usage as (
    insert into usage_records
      (id, tenant_id, user_id, credential_id, key_source, model, request_id, input_tokens, output_tokens,
       cost_usd, ttft_ms, total_ms, status, error_code, created_at)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  )
  delete from budget_reservations where id = ?`;
