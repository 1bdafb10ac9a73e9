import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller';
import type { ChatStarter } from '../auth/request-context';
import { chatStarted, type ChatEventPayload } from './chat-event.type';
import { ChatInput } from './chat.input';
import { ErrorCode, isKeywardError } from '../common/errors';
import { assertCan } from '../auth/policy';
import { AuditOutcome } from '../audit/audit-event.entity';
import { callerFacts } from '../audit/audited';
import type { AuditLog } from '../audit/audit-log';
import { validateInput } from '../common/validation';
import type { ChatPlanner } from './chat-planner';
import type { ChatRunner } from './chat-runner';
import { EventChannel } from './event-channel';
import type { ChatRecorder } from './chat-recorder';
import type { StreamRegistry, StreamTicket } from './stream-registry';
import type { ChatAdmission } from './chat-admission';
import type { ChatPlan } from './chat-plan';
import type { HeldUpstreamCall } from './held-upstream-call';

/** Starts one chat: plans it (errors surface as GraphQL errors), then streams it. */
export class ChatService implements ChatStarter {
  constructor(
    private readonly planner: ChatPlanner,
    private readonly runner: ChatRunner,
    private readonly audit: AuditLog,
    private readonly recorder: ChatRecorder,
    readonly streams: StreamRegistry,
    private readonly admission: ChatAdmission,
  ) {}

  async start(caller: Caller, rawInput: unknown): Promise<AsyncIterableIterator<ChatEventPayload>> {
    assertCan(caller.principal, 'chat.start');
    const input = Object.assign(new ChatInput(), rawInput);
    validateInput(input);
    const requestId = caller.requestId ?? randomUUID();
    // This process's count first: cheap, and it spares the database a request it would refuse.
    const ticket = this.streams.admit(caller.principal.tenantId, caller.principal.userId);
    ticket.tokenId = caller.principal.tokenId;
    let plan: ChatPlan;
    let held: HeldUpstreamCall;
    try {
      ({ plan, held } = await this.admitAndPlan(caller, input, requestId, ticket));
    } catch (error) {
      this.streams.release(ticket);
      if (isKeywardError(error) && error.code === ErrorCode.KEY_UNAVAILABLE) {
        await this.audit.append({
          ...callerFacts(caller),
          action: 'key.unavailable',
          outcome: AuditOutcome.FAILURE,
          detail: { code: error.code },
        });
      }
      throw error;
    }
    const keyUse = {
      ...callerFacts(caller),
      action: 'credential.use',
      targetType: plan.key.credentialId ? 'credential' : 'platform_key',
      targetId: plan.key.credentialId,
      outcome: AuditOutcome.SUCCESS,
      detail: { keySource: plan.key.source, model: plan.model.id, provider: plan.model.provider },
    };
    // Written with the chat's end, or while it runs if it runs long (see ChatRecorder).
    const turnWrite = this.recorder.deferStart(plan, keyUse);
    const channel = new EventChannel<ChatEventPayload>();
    // Sent once the upstream request (started below, in this turn) has left.
    channel.announce(
      chatStarted({ requestId, conversationId: plan.conversationId, model: plan.model.id, keySource: plan.key.source }),
    );
    ticket.credentialId = plan.key.credentialId;
    this.streams.attach(ticket, channel);
    const lease = ticket.lease;
    const leaseId = lease && this.admission.releasedWithUsage ? lease.leaseId : null;
    void this.runner.run({ ...plan, turnWrite, leaseId }, channel, held).then(
      (released) => this.end(ticket, released && leaseId !== null),
      () => this.end(ticket, false),
    );
    return channel;
  }

  private end(ticket: StreamTicket, leaseReleased: boolean): void {
    this.streams.release(ticket);
    if (ticket.lease && !leaseReleased) this.admission.release(ticket.lease);
  }

  /**
   * The admission across replicas (stream caps, client request id) runs beside the planning, so
   * the chat waits for the slower of the two rather than for both; and once planned, its first
   * provider call is built while the admission is still out (held unsent until it is admitted).
   * Whichever refuses, what the other took is given back; a refused admission is the error the
   * client sees.
   */
  private async admitAndPlan(
    caller: Caller,
    input: ChatInput,
    requestId: string,
    ticket: StreamTicket,
  ): Promise<{ plan: ChatPlan; held: HeldUpstreamCall }> {
    const lease = this.admission.request(ticket.tenantId, ticket.userId, requestId, input.clientRequestId);
    const admitted = this.admission.admit(lease).then(
      (refusal) => refusal,
      (error: unknown) => error,
    );
    let plan: ChatPlan;
    try {
      plan = await this.planner.plan(caller, input, requestId);
    } catch (error) {
      const refusal = await admitted;
      if (refusal) throw refusal;
      this.admission.withdraw(lease);
      throw error;
    }
    const held = this.runner.hold(plan);
    const refusal = await admitted;
    if (refusal) {
      held.discard();
      await this.planner.abandon(caller, plan);
      throw refusal;
    }
    ticket.lease = lease;
    return { plan, held };
  }
}
