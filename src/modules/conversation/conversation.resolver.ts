import { Arg, Authorized, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { badInput } from '../../common/errors';
import type { Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import { Agent } from '../agent/agent.type';
import type { ConversationService } from './conversation.service';
import { Conversation, Message } from './conversation.type';

@Resolver(() => Conversation)
export class ConversationResolver {
  constructor(private readonly conversationService: ConversationService) {}

  @Authorized<Action>('conversation.read')
  @Query(() => Conversation, { nullable: true, description: "The caller's own conversation; null for anyone else's." })
  async conversation(@Arg('id', () => ID) id: string, @CurrentCaller() caller: Caller): Promise<Conversation | null> {
    const found = await this.conversationService.findOwn(caller, id);
    return found ? Conversation.from(found) : null;
  }

  @Authorized<Action>('conversation.read')
  @Query(() => [Conversation], { description: "The caller's own conversations, newest first; first is 1…200." })
  async conversations(
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @CurrentCaller() caller: Caller,
  ): Promise<Conversation[]> {
    if (!Number.isInteger(first) || first < 1 || first > 200)
      throw badInput('first must be between 1 and 200', 'first');
    return (await this.conversationService.listOwn(caller, first)).map(Conversation.from);
  }

  @FieldResolver(() => [Message])
  async messages(@Root() conversation: Conversation, @CurrentCaller() caller: Caller): Promise<Message[]> {
    return (await this.conversationService.messages(caller, conversation.id)).map(Message.from);
  }

  @FieldResolver(() => Agent, { nullable: true })
  async agent(@Root() conversation: Conversation, @CurrentCaller() caller: Caller): Promise<Agent | null> {
    if (!conversation.agentId) return null;
    const agent = await this.conversationService.agent(caller, conversation.agentId);
    return agent ? Agent.from(agent) : null;
  }
}
