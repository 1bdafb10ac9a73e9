import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { Action } from '../../auth/policy';
import { callerOf, type GatewayContext } from '../../server/context';
import { CreateAgentInput } from './agent.input';
import type { AgentService } from './agent.service';
import { Agent } from './agent.type';

@Resolver(() => Agent)
export class AgentResolver {
  constructor(private readonly agentService: AgentService) {}

  @Authorized<Action>('agent.list')
  @Query(() => [Agent])
  async agents(@Ctx() ctx: GatewayContext): Promise<Agent[]> {
    return (await this.agentService.list(callerOf(ctx))).map(Agent.from);
  }

  @Authorized()
  @Mutation(() => Agent)
  async createAgent(@Arg('input') input: CreateAgentInput, @Ctx() ctx: GatewayContext): Promise<Agent> {
    return Agent.from(await this.agentService.create(callerOf(ctx), input));
  }
}
