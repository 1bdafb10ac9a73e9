import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog, AuditRecord } from '../audit/audit-log';
import { GroupCommit } from '../db/group-commit';
import { runSql } from '../db/sql';
import type { MessageStatus, StoredToolCall, StoredToolResult } from '../modules/conversation/message.entity';
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

/** Where in a tool loop an outcome stands: which model call, the tool calls it ended with, whether it is the last. */
export interface StepRecord {
  step: number;
  /** The calls the reply ended with (stored with it, to replay with their results); null: none. */
  toolCalls: StoredToolCall[] | null;
  /** The chat ends here: its reservations are released with this outcome. */
  final: boolean;
}

const ONLY_STEP: StepRecord = { step: 1, toolCalls: null, final: true };

interface StartRecord {
  plan: ChatPlan;
  keyUse: AuditRecord;
  at: Date;
}

interface OutcomeRecord {
  chat: StartedChat;
  outcome: ChatOutcome;
  step: StepRecord;
  /** Whether the user's turn is in the database, so the reply has a conversation to go in. */
  withReply: boolean;
  at: Date;
}

const MESSAGE_STATUS: Record<UsageStatus, MessageStatus> = {
  completed: 'complete',
  cancelled: 'cancelled',
  failed: 'failed',
};
const TITLE_LENGTH = 80;
/** The longest a chat's turn and credential.use event wait for its first token before being written. */
export const START_WRITE_DELAY_MS = 100;

/**
 * Writes what every chat leaves behind: at the start, the user's turn (and the conversation, on
 * its first turn) with the credential.use audit event; at the end, the reply, the usage row,
 * the credential's lastUsedAt (at most once a minute) and the release of the budget reservation. Concurrent chats share transactions (GroupCommit),
 * and rows are written with plain SQL (the columns of ConversationEntity, MessageEntity,
 * UsageRecordEntity and BudgetReservationEntity), one statement per table, not through the unit
 * of work; test/chat reads them back through the entities.
 */
export class ChatRecorder {
  private readonly starts: GroupCommit<StartRecord>;
  private readonly outcomes: GroupCommit<OutcomeRecord>;

  constructor(
    private readonly root: EntityManager,
    audit: AuditLog,
  ) {
    this.starts = new GroupCommit((records) => root.fork().transactional((tx) => writeStarts(tx, audit, records)));
    this.outcomes = new GroupCommit((records) => writeOutcomes(root.fork(), records));
  }

  /**
   * The start's write, begun by `begin()` or after `maxDelayMs`, whichever comes first. The
   * runner begins it just after the first token has gone to the client, so the first token of
   * a fast provider never waits behind these writes, while with a slow one (whose first token
   * takes hundreds of milliseconds) they are made as it thinks. `saved` never rejects unhandled.
   */
  deferStart(
    plan: ChatPlan,
    keyUse: AuditRecord,
    maxDelayMs = START_WRITE_DELAY_MS,
  ): { saved: Promise<void>; begin: () => void } {
    let begin!: () => void;
    const begun = new Promise<void>((resolve) => (begin = resolve));
    const timer = setTimeout(begin, maxDelayMs);
    const saved = begun.then(() => {
      clearTimeout(timer);
      return this.recordStart(plan, keyUse);
    });
    saved.catch(() => undefined); // awaited, and a failure logged, when the reply is recorded
    return { saved, begin };
  }

  /** The user's turn and the audit event of the key's use: together or not at all. */
  recordStart(plan: ChatPlan, keyUse: AuditRecord): Promise<void> {
    return this.starts.submit({ plan, keyUse, at: new Date() });
  }

  /**
   * The reply (possibly partial), its usage and, on the chat's final step, the reservation's
   * release: together or not at all. In a tool loop every model call is one step: one reply (with
   * the tool calls it ended with) and one usage row under the same request id.
   */
  async recordOutcome(chat: StartedChat, outcome: ChatOutcome, step: StepRecord = ONLY_STEP): Promise<void> {
    // Without the user's turn (its write failed, and was logged) there is no conversation to
    // reply in, but the usage is still recorded and the reservation released.
    const withReply = await chat.turnSaved.then(
      () => true,
      () => false,
    );
    await this.outcomes.submit({ chat, outcome, step, withReply, at: new Date() });
  }

  /** The client's results of a step's tool calls: a TOOL message after the reply that made them. */
  async recordToolResults(chat: StartedChat, results: StoredToolResult[]): Promise<void> {
    await runSql(this.root.fork(), INSERT_TOOL_RESULTS, [
      randomUUID(),
      chat.conversationId,
      JSON.stringify(results),
      new Date(),
      chat.conversationId,
    ]);
  }

  /** Releases the chat's reservations when its loop ends without another model call (a timeout, a cancelled wait). */
  async release(chat: StartedChat): Promise<void> {
    await runSql(this.root.fork(), RELEASE_RESERVATIONS, [
      chat.reservationId ? [chat.reservationId] : [],
      chat.platformReservationId ? [chat.platformReservationId] : [],
    ]);
  }
}

async function writeStarts(tx: EntityManager, audit: AuditLog, records: StartRecord[]): Promise<void> {
  const created = records.filter((record) => record.plan.turn.isNew);
  await runSql(tx, INSERT_TURNS, [
    created.map((record) => record.plan.turn.conversationId),
    created.map((record) => record.plan.tenantId),
    created.map((record) => record.plan.userId),
    created.map((record) => record.plan.turn.agentId),
    created.map((record) => record.plan.turn.message.trim().slice(0, TITLE_LENGTH)),
    created.map((record) => record.at),
    records.map(() => randomUUID()),
    records.map((record) => record.plan.turn.conversationId),
    records.map((record) => record.plan.turn.message),
    records.map((record) => record.at),
  ]);
  // Last, so the chains' heads are locked only for the commit.
  await audit.appendWithin(
    tx,
    records.map((record) => record.keyUse),
  );
}

async function writeOutcomes(em: EntityManager, records: OutcomeRecord[]): Promise<void> {
  const replies = records.filter((record) => record.withReply);
  await runSql(em, RECORD_OUTCOMES, [
    replies.map(() => randomUUID()),
    replies.map(({ chat }) => chat.conversationId),
    replies.map(({ outcome }) => outcome.text),
    replies.map(({ chat }) => chat.model.id),
    replies.map(({ chat }) => chat.key.source),
    replies.map(({ outcome }) => MESSAGE_STATUS[outcome.status]),
    replies.map(({ step }) => (step.toolCalls ? JSON.stringify(step.toolCalls) : null)),
    replies.map(({ at }) => at),
    records.map(() => randomUUID()),
    records.map(({ chat }) => chat.tenantId),
    records.map(({ chat }) => chat.userId),
    records.map(({ chat }) => chat.key.credentialId),
    records.map(({ chat }) => chat.key.source),
    records.map(({ chat }) => chat.model.id),
    records.map(({ chat }) => chat.model.provider),
    records.map(({ chat }) => chat.requestId),
    records.map(({ step }) => step.step),
    records.map(({ outcome }) => outcome.inputTokens),
    records.map(({ outcome }) => outcome.outputTokens),
    records.map(({ outcome }) => outcome.costUsd),
    records.map(({ outcome }) => outcome.ttftMs),
    records.map(({ outcome }) => outcome.totalMs),
    records.map(({ outcome }) => outcome.status),
    records.map(({ outcome }) => outcome.errorCode),
    records.map(({ at }) => at),
    new Date(),
    records.flatMap(({ chat }) => (chat.key.lastUsedDue && chat.key.credentialId ? [chat.key.credentialId] : [])),
    records.flatMap(({ chat, step }) => (step.final && chat.reservationId ? [chat.reservationId] : [])),
    records.flatMap(({ chat, step }) => (step.final && chat.platformReservationId ? [chat.platformReservationId] : [])),
  ]);
}

/** New conversations and every user message, in one statement. */
const INSERT_TURNS = `with conversations as (
    insert into conversations (id, tenant_id, owner_id, agent_id, title, created_at)
    select * from unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::timestamptz[])
  )
  insert into messages (id, conversation_id, role, content, model, key_source, status, created_at)
  select id, conversation_id, '${MessageRole.USER}', content, null, null, 'complete', created_at
  from unnest(?::uuid[], ?::uuid[], ?::text[], ?::timestamptz[]) as turn(id, conversation_id, content, created_at)`;

/**
 * Replies, usage rows, credentials' lastUsedAt and released reservations (budget and platform
 * spend), in one statement (so atomically). What was deleted while the chat ran is left out rather than failing the batch: no
 * reply without its conversation, no usage row without its user (a deleted tenant's rows are all
 * gone), and a deleted credential is recorded as null, as its foreign key would set it.
 */
const RECORD_OUTCOMES = `with replies as (
    insert into messages (id, conversation_id, role, content, model, key_source, status, tool_calls, created_at)
    select reply.id, reply.conversation_id, '${MessageRole.ASSISTANT}', reply.content, reply.model, reply.key_source, reply.status,
      reply.tool_calls::jsonb, reply.created_at
    from unnest(?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[])
      as reply(id, conversation_id, content, model, key_source, status, tool_calls, created_at)
    where exists (select 1 from conversations where conversations.id = reply.conversation_id)
  ), usage as (
    insert into usage_records
      (id, tenant_id, user_id, credential_id, key_source, model, provider, request_id, step, input_tokens, output_tokens,
       cost_usd, ttft_ms, total_ms, status, error_code, created_at)
    select u.id, u.tenant_id, u.user_id, (select credentials.id from credentials where credentials.id = u.credential_id),
      u.key_source, u.model, u.provider, u.request_id, u.step, u.input_tokens, u.output_tokens, u.cost_usd, u.ttft_ms,
      u.total_ms, u.status, u.error_code, u.created_at
    from unnest(?::uuid[], ?::uuid[], ?::uuid[], ?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::int[], ?::int[],
      ?::int[], ?::float8[], ?::int[], ?::int[], ?::text[], ?::text[], ?::timestamptz[])
      as u(id, tenant_id, user_id, credential_id, key_source, model, provider, request_id, step, input_tokens,
        output_tokens, cost_usd, ttft_ms, total_ms, status, error_code, created_at)
    where exists (select 1 from users where users.id = u.user_id and users.tenant_id = u.tenant_id)
  ), used as (
    update credentials set last_used_at = ?::timestamptz where id = any(?::uuid[])
  ), budget_released as (
    delete from budget_reservations where id = any(?::uuid[])
  )
  delete from platform_spend_reservations where id = any(?::uuid[])`;

/** A step's tool results, after the reply that made the calls (if the conversation still exists). */
const INSERT_TOOL_RESULTS = `insert into messages (id, conversation_id, role, content, model, key_source, status, tool_results, created_at)
  select ?::uuid, ?::uuid, '${MessageRole.TOOL}', '', null, null, 'complete', ?::jsonb, ?::timestamptz
  where exists (select 1 from conversations where conversations.id = ?::uuid)`;

const RELEASE_RESERVATIONS = `with budget_released as (
    delete from budget_reservations where id = any(?::uuid[])
  )
  delete from platform_spend_reservations where id = any(?::uuid[])`;
