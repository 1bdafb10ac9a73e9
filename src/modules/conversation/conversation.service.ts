import { can } from '../../auth/policy';
import { isUuid } from '../../common/ids';
import type { Caller } from '../../auth/caller';
import { AgentEntity } from '../agent/agent.entity';
import { ConversationEntity } from './conversation.entity';
import { MessageEntity } from './message.entity';

export class ConversationService {
  /** The caller's own conversation, or null: anyone else's is indistinguishable from none. */
  async findOwn(caller: Caller, id: string): Promise<ConversationEntity | null> {
    const conversation = isUuid(id) ? await caller.em.findOne(ConversationEntity, { id }) : null;
    if (!conversation) return null;
    const target = { tenantId: conversation.tenant.id, ownerId: conversation.owner.id };
    return can(caller.principal, 'conversation.read', target) ? conversation : null;
  }

  /** The caller's own conversations, newest first. */
  async listOwn(caller: Caller, first: number): Promise<ConversationEntity[]> {
    return caller.em.find(
      ConversationEntity,
      { owner: caller.principal.userId, tenant: caller.principal.tenantId },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first },
    );
  }

  async messages(caller: Caller, conversationId: string): Promise<MessageEntity[]> {
    return caller.em.find(
      MessageEntity,
      { conversation: conversationId },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
  }

  async agent(caller: Caller, agentId: string): Promise<AgentEntity | null> {
    return caller.em.findOne(AgentEntity, { id: agentId, tenant: caller.principal.tenantId });
  }
}
