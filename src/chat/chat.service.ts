import { randomUUID } from 'node:crypto';
import type { Caller, ChatStarter } from '../server/context';
import { chatStarted, type ChatEventPayload } from './chat-event.type';
import { ChatInput } from './chat.input';
import { forbidden } from '../common/errors';
import { validateInput } from '../common/validation';
import { Role } from '../modules/user/role';
import type { ChatPlanner } from './chat-planner';
import type { ChatRunner } from './chat-runner';
import { EventChannel } from './event-channel';

/** Starts one chat: plans it (errors surface as GraphQL errors), then streams it. */
export class ChatService implements ChatStarter {
  constructor(
    private readonly planner: ChatPlanner,
    private readonly runner: ChatRunner,
  ) {}

  async start(caller: Caller, rawInput: unknown): Promise<AsyncIterableIterator<ChatEventPayload>> {
    if (caller.principal.role === Role.AUDITOR) throw forbidden('Auditors are read-only and cannot chat');
    const input = Object.assign(new ChatInput(), rawInput);
    await validateInput(input);
    const requestId = caller.requestId ?? randomUUID();
    const plan = await this.planner.plan(caller, input, requestId);
    const channel = new EventChannel<ChatEventPayload>();
    channel.push(
      chatStarted({ requestId, conversationId: plan.conversationId, model: plan.model.id, keySource: plan.key.source }),
    );
    void this.runner.run(caller.em.fork(), plan, channel);
    return channel;
  }
}
