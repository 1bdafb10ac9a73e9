import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import type { Action } from '../../auth/policy';
import { badInput } from '../../common/errors';
import { callerOf, type GatewayContext } from '../../server/context';
import { Agent } from '../agent/agent.type';
import type { ConversationService } from './conversation.service';
import { Conversation, Message } from './conversation.type';

@Resolver(() => Conversation)
export class ConversationResolver {
  constructor(private readonly conversationService: ConversationService) {}

  @Authorized<Action>('conversation.read')
  @Query(() => Conversation, { nullable: true, description: "The caller's own conversation; null for anyone else's." })
  async conversation(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Conversation | null> {
    const found = await this.conversationService.findOwn(callerOf(ctx), id);
    return found ? Conversation.from(found) : null;
  }

  @Authorized()
  @Query(() => [Conversation], { description: "The caller's own conversations, newest first; first is 1…200." })
  async conversations(
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Ctx() ctx: GatewayContext,
  ): Promise<Conversation[]> {
    if (!Number.isInteger(first) || first < 1 || first > 200) throw badInput('first must be between 1 and 200', 'first');
    return (await this.conversationService.listOwn(callerOf(ctx), first)).map(Conversation.from);
  }

  @FieldResolver(() => [Message])
  async messages(@Root() conversation: Conversation, @Ctx() ctx: GatewayContext): Promise<Message[]> {
    return (await this.conversationService.messages(callerOf(ctx), conversation.id)).map(Message.from);
  }

  @FieldResolver(() => Agent, { nullable: true })
  async agent(@Root() conversation: Conversation, @Ctx() ctx: GatewayContext): Promise<Agent | null> {
    if (!conversation.agentId) return null;
    const agent = await this.conversationService.agent(callerOf(ctx), conversation.agentId);
    return agent ? Agent.from(agent) : null;
  }
}
