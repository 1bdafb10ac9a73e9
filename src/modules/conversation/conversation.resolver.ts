import { Arg, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { Action } from '../../auth/policy';
import { callerOf, type GatewayContext } from '../../server/context';
import { Agent } from '../agent/agent.type';
import type { ConversationService } from './conversation.service';
import { Conversation, Message } from './conversation.type';

@Resolver(() => Conversation)
export class ConversationResolver {
  constructor(private readonly conversations: ConversationService) {}

  @Authorized<Action>('conversation.read')
  @Query(() => Conversation, { nullable: true, description: "The caller's own conversation; null for anyone else's." })
  async conversation(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Conversation | null> {
    const found = await this.conversations.findOwn(callerOf(ctx), id);
    return found ? Conversation.from(found) : null;
  }

  @FieldResolver(() => [Message])
  async messages(@Root() conversation: Conversation, @Ctx() ctx: GatewayContext): Promise<Message[]> {
    return (await this.conversations.messages(callerOf(ctx), conversation.id)).map(Message.from);
  }

  @FieldResolver(() => Agent, { nullable: true })
  async agent(@Root() conversation: Conversation, @Ctx() ctx: GatewayContext): Promise<Agent | null> {
    if (!conversation.agentId) return null;
    const agent = await this.conversations.agent(callerOf(ctx), conversation.agentId);
    return agent ? Agent.from(agent) : null;
  }
}
