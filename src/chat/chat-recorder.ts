import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditLog, AuditRecord, SqlCtes } from '../audit/audit-log';
import { GroupCommit } from '../db/group-commit';
import { poolOf, type HeldConnection } from '../db/held-connection';
import { runSql, runStatement } from '../db/sql';
import { storableJson, storableText } from '../db/storable-text';
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

interface TurnRecord {
  plan: ChatPlan;
  keyUse: AuditRecord;
  at: Date;
}

interface OutcomeRecord {
  chat: StartedChat;
  outcome: ChatOutcome;
  step: StepRecord;
  /** Whether the user's turn is in the database (or goes in with this record), so the reply has a conversation to go in. */
  withReply: boolean;
  /** The user's turn, when it is written with this outcome. */
  turn: TurnRecord | null;
  at: Date;
}

const MESSAGE_STATUS: Record<UsageStatus, MessageStatus> = {
  completed: 'complete',
  cancelled: 'cancelled',
  failed: 'failed',
};
const TITLE_LENGTH = 80;
/** The longest a chat's turn and credential.use event wait to be written with its reply. */
export const START_WRITE_DELAY_MS = 100;

/** How a TurnWrite's `saved` is settled. */
interface Settle {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A chat's user turn and credential.use audit event until they are written: on their own once
 * the chat has run for a while, or with its first outcome if that comes sooner.
 */
export class TurnWrite {
  /** Settles once they are in the database; rejects if they could not be written. Never rejects unhandled. */
  readonly saved: Promise<void>;
  private settle!: Settle;
  private timer: NodeJS.Timeout | null;

  constructor(
    readonly record: TurnRecord,
    writeAlone: (record: TurnRecord) => Promise<void>,
    delayMs: number,
  ) {
    this.saved = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.saved.catch(() => undefined); // awaited, and a failure logged, when the reply is recorded
    this.timer = setTimeout(() => {
      this.timer = null;
      writeAlone(record).then(this.settle.resolve, this.settle.reject);
    }, delayMs);
  }

  /** Takes the turn to be written with an outcome (whose result `settle` then reports); null once its own write has begun. */
  join(): { record: TurnRecord; settle: Settle } | null {
    if (!this.timer) return null;
    clearTimeout(this.timer);
    this.timer = null;
    return { record: this.record, settle: this.settle };
  }
}

/**
 * Writes what every chat leaves behind: the user's turn (and the conversation, on its first
 * turn) with the credential.use audit event; the reply, the usage row, the credential's
 * lastUsedAt (at most once a minute) and the release of the chat's reservations and stream lease.
 * A chat shorter than START_WRITE_DELAY_MS has all of it written at its end, in one statement;
 * a longer one has its turn written on its own after that delay (while the provider thinks or
 * streams), and its outcome at the end. Concurrent chats share
 * statements (GroupCommit). The audit event goes in the same statement as its turn
 * (AuditLog.appendWith), so there is no turn without its event. Rows are written with plain SQL
 * (the columns of ConversationEntity, MessageEntity, UsageRecordEntity, the reservation entities
 * and StreamLeaseEntity), not through the unit of work; test/chat reads them back through the entities.
 */
export class ChatRecorder {
  /**
   * Turns and outcomes share one queue: each batch is one statement, and a chat's events are
   * appended by one writer at a time, on the head the previous batch left.
   */
  private readonly writes: GroupCommit<TurnRecord | OutcomeRecord>;

  constructor(
    private readonly root: EntityManager,
    audit: AuditLog,
    /** The writes' connection, kept between them. */
    connection?: HeldConnection,
  ) {
    this.writes = new GroupCommit((records) => writeBatch(root, audit, records, connection));
  }

  /** The chat's turn and credential.use event, to be written after `delayMs` or with its first outcome. */
  deferStart(plan: ChatPlan, keyUse: AuditRecord, delayMs = START_WRITE_DELAY_MS): TurnWrite {
    return new TurnWrite({ plan, keyUse, at: new Date() }, (record) => this.writes.submit(record), delayMs);
  }

  /**
   * The reply (possibly partial), its usage and, on the chat's final step, the release of its
   * reservations and stream lease (and the user's turn, if not yet written): together or not at
   * all. In a tool loop every model call is one step: one reply (with the tool calls it ended
   * with) and one usage row under the same request id.
   */
  async recordOutcome(chat: StartedChat, outcome: ChatOutcome, step: StepRecord = ONLY_STEP): Promise<void> {
    const joined = chat.turnWrite.join();
    if (joined) {
      try {
        await this.writes.submit({ chat, outcome, step, withReply: true, turn: joined.record, at: new Date() });
      } catch (error) {
        joined.settle.reject(error);
        throw error;
      }
      joined.settle.resolve();
      return;
    }
    // Without the user's turn (its write failed, and was logged) there is no conversation to
    // reply in, but the usage is still recorded and the reservations released.
    const withReply = await chat.turnWrite.saved.then(
      () => true,
      () => false,
    );
    await this.writes.submit({ chat, outcome, step, withReply, turn: null, at: new Date() });
  }

  /** The client's results of a step's tool calls: a TOOL message after the reply that made them. */
  async recordToolResults(chat: StartedChat, results: StoredToolResult[]): Promise<void> {
    await runSql(this.root.fork(), INSERT_TOOL_RESULTS, [
      randomUUID(),
      chat.conversationId,
      storableJson(results),
      new Date(),
      chat.conversationId,
    ]);
  }

  /** Releases the chat's reservations and lease when its loop ends without another model call (a timeout, a cancelled wait). */
  async release(chat: StartedChat): Promise<void> {
    await runSql(this.root.fork(), RELEASE_RESERVATIONS, [
      chat.reservationId ? [chat.reservationId] : [],
      chat.platformReservationId ? [chat.platformReservationId] : [],
      chat.leaseId ? [chat.leaseId] : [],
    ]);
  }
}

/** New conversations and every user message. */
function turnWrites(records: readonly TurnRecord[]): SqlCtes {
  const created = records.filter((record) => record.plan.turn.isNew);
  return {
    ctes: INSERT_TURNS,
    params: [
      JSON.stringify(
        created.map(({ plan, at }) => ({
          id: plan.turn.conversationId,
          tenant_id: plan.tenantId,
          owner_id: plan.userId,
          agent_id: plan.turn.agentId,
          title: storableText(plan.turn.message.trim().slice(0, TITLE_LENGTH)),
          created_at: at,
        })),
      ),
      JSON.stringify(
        records.map(({ plan, at }) => ({
          id: randomUUID(),
          conversation_id: plan.turn.conversationId,
          content: storableText(plan.turn.message),
          created_at: at,
        })),
      ),
    ],
  };
}

/** Turns (on their own or with their chat's outcome) and outcomes, in one statement. */
async function writeBatch(
  root: EntityManager,
  audit: AuditLog,
  records: ReadonlyArray<TurnRecord | OutcomeRecord>,
  connection: HeldConnection | undefined,
): Promise<void> {
  const outcomeRecords = records.filter((record): record is OutcomeRecord => 'outcome' in record);
  const turns = records.flatMap((record) => ('outcome' in record ? (record.turn ? [record.turn] : []) : [record]));
  const outcomes = outcomeRecords.length > 0 ? outcomeWrites(outcomeRecords, turns) : null;
  if (turns.length === 0) {
    if (outcomes) {
      await runStatement(connection ?? poolOf(root), `with ${outcomes.ctes} select 1`, outcomes.params);
    }
    return;
  }
  const started = turnWrites(turns);
  await audit.appendWith(
    turns.map((turn) => turn.keyUse),
    outcomes ? { ctes: `${started.ctes}, ${outcomes.ctes}`, params: [...started.params, ...outcomes.params] } : started,
    connection,
  );
}

/** `turns`: the user turns written in the same statement (their new conversations take replies too). */
function outcomeWrites(records: readonly OutcomeRecord[], turns: readonly TurnRecord[]): SqlCtes {
  const replies = records.filter((record) => record.withReply);
  const finals = records.filter(({ step }) => step.final);
  return {
    ctes: RECORD_OUTCOMES,
    params: [
      JSON.stringify(
        replies.map(({ chat, outcome, step, at }) => ({
          id: randomUUID(),
          conversation_id: chat.conversationId,
          content: storableText(outcome.text),
          model: chat.model.id,
          key_source: chat.key.source,
          status: MESSAGE_STATUS[outcome.status],
          tool_calls: step.toolCalls ? storableJson(step.toolCalls) : null,
          created_at: at,
        })),
      ),
      turns.filter((turn) => turn.plan.turn.isNew).map((turn) => turn.plan.turn.conversationId),
      JSON.stringify(
        records.map(({ chat, outcome, step, at }) => ({
          id: randomUUID(),
          tenant_id: chat.tenantId,
          user_id: chat.userId,
          credential_id: chat.key.credentialId,
          key_source: chat.key.source,
          model: chat.model.id,
          provider: chat.model.provider,
          request_id: chat.requestId,
          step: step.step,
          input_tokens: outcome.inputTokens,
          output_tokens: outcome.outputTokens,
          cost_usd: outcome.costUsd,
          ttft_ms: outcome.ttftMs,
          total_ms: outcome.totalMs,
          status: outcome.status,
          error_code: outcome.errorCode,
          created_at: at,
        })),
      ),
      new Date(),
      records.flatMap(({ chat }) => (chat.key.lastUsedDue && chat.key.credentialId ? [chat.key.credentialId] : [])),
      finals.flatMap(({ chat }) => (chat.reservationId ? [chat.reservationId] : [])),
      finals.flatMap(({ chat }) => (chat.platformReservationId ? [chat.platformReservationId] : [])),
      finals.flatMap(({ chat }) => (chat.leaseId ? [chat.leaseId] : [])),
    ],
  };
}

/**
 * New conversations and every user message. Here and below, the rows of a table come as one JSON
 * parameter, not one array per column: pg would encode each array element by element in
 * JavaScript, and PostgreSQL parse each apart (docs/benchmarks.md, "Parameters as JSON").
 */
const INSERT_TURNS = `new_conversations as (
    insert into conversations (id, tenant_id, owner_id, agent_id, title, created_at)
    select id, tenant_id, owner_id, agent_id, title, created_at
    from json_to_recordset(?::json)
      as conversation(id uuid, tenant_id uuid, owner_id uuid, agent_id uuid, title text, created_at timestamptz)
  ), user_turns as (
    insert into messages (id, conversation_id, role, content, model, key_source, status, created_at)
    select id, conversation_id, '${MessageRole.USER}', content, null, null, 'complete', created_at
    from json_to_recordset(?::json) as turn(id uuid, conversation_id uuid, content text, created_at timestamptz)
  )`;

/**
 * Replies, usage rows, credentials' lastUsedAt, released reservations (budget and platform
 * spend) and stream leases. What was deleted while the chat ran is left out rather than failing
 * the batch: no reply without its conversation (one created by a turn in the same statement is
 * not yet visible to the check, so those are named), no usage row without its user (a deleted
 * tenant's rows are all gone), and a deleted credential is recorded as null, as its foreign key would set it.
 */
const RECORD_OUTCOMES = `replies as (
    insert into messages (id, conversation_id, role, content, model, key_source, status, tool_calls, created_at)
    select reply.id, reply.conversation_id, '${MessageRole.ASSISTANT}', reply.content, reply.model, reply.key_source, reply.status,
      reply.tool_calls::jsonb, reply.created_at
    from json_to_recordset(?::json) as reply(id uuid, conversation_id uuid, content text, model text, key_source text,
      status text, tool_calls text, created_at timestamptz)
    where (select true from conversations where conversations.id = reply.conversation_id)
      or reply.conversation_id = any(?::uuid[])
  ), usage as (
    insert into usage_records
      (id, tenant_id, user_id, credential_id, key_source, model, provider, request_id, step, input_tokens, output_tokens,
       cost_usd, ttft_ms, total_ms, status, error_code, created_at)
    select u.id, u.tenant_id, u.user_id, (select credentials.id from credentials where credentials.id = u.credential_id),
      u.key_source, u.model, u.provider, u.request_id, u.step, u.input_tokens, u.output_tokens, u.cost_usd, u.ttft_ms,
      u.total_ms, u.status, u.error_code, u.created_at
    from json_to_recordset(?::json) as u(id uuid, tenant_id uuid, user_id uuid, credential_id uuid, key_source text,
      model text, provider text, request_id text, step int, input_tokens int, output_tokens int, cost_usd float8,
      ttft_ms int, total_ms int, status text, error_code text, created_at timestamptz)
    where (select users.tenant_id from users where users.id = u.user_id) = u.tenant_id
  ), used as (
    update credentials set last_used_at = ?::timestamptz where id = any(?::uuid[])
  ), budget_released as (
    delete from budget_reservations where id = any(?::uuid[])
  ), platform_released as (
    delete from platform_spend_reservations where id = any(?::uuid[])
  ), leases_released as (
    delete from stream_leases where id = any(?::uuid[])
  )`;

/** A step's tool results, after the reply that made the calls (if the conversation still exists). */
const INSERT_TOOL_RESULTS = `insert into messages (id, conversation_id, role, content, model, key_source, status, tool_results, created_at)
  select ?::uuid, ?::uuid, '${MessageRole.TOOL}', '', null, null, 'complete', ?::jsonb, ?::timestamptz
  where exists (select 1 from conversations where conversations.id = ?::uuid)`;

const RELEASE_RESERVATIONS = `with budget_released as (
    delete from budget_reservations where id = any(?::uuid[])
  ), platform_released as (
    delete from platform_spend_reservations where id = any(?::uuid[])
  )
  delete from stream_leases where id = any(?::uuid[])`;
