import { Arg, Authorized, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import { Agent } from '../agent/agent.type';
import type { ConversationService } from './conversation.service';
import { Conversation, Message } from './conversation.type';

@Resolver(() => Conversation)
export class ConversationResolver {
  constructor(private readonly conversations: ConversationService) {}

  @Authorized<Action>('conversation.read')
  @Query(() => Conversation, { nullable: true, description: "The caller's own conversation; null for anyone else's." })
  async conversation(@Arg('id', () => ID) id: string, @CurrentCaller() caller: Caller): Promise<Conversation | null> {
    const found = await this.conversations.findOwn(caller, id);
    return found ? Conversation.from(found) : null;
  }

  @FieldResolver(() => [Message])
  async messages(@Root() conversation: Conversation, @CurrentCaller() caller: Caller): Promise<Message[]> {
    return (await this.conversations.messages(caller, conversation.id)).map(Message.from);
  }

  @FieldResolver(() => Agent, { nullable: true })
  async agent(@Root() conversation: Conversation, @CurrentCaller() caller: Caller): Promise<Agent | null> {
    if (!conversation.agentId) return null;
    const agent = await this.conversations.agent(caller, conversation.agentId);
    return agent ? Agent.from(agent) : null;
  }
}
