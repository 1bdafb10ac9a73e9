import { Arg, Authorized, Mutation, Query, Resolver } from 'type-graphql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import { CreateAgentInput } from './agent.input';
import type { AgentService } from './agent.service';
import { Agent } from './agent.type';

@Resolver(() => Agent)
export class AgentResolver {
  constructor(private readonly agentService: AgentService) {}

  @Authorized<Action>('agent.list')
  @Query(() => [Agent])
  async agents(@CurrentCaller() caller: Caller): Promise<Agent[]> {
    return (await this.agentService.list(caller)).map(Agent.from);
  }

  @Authorized()
  @Mutation(() => Agent)
  async createAgent(@Arg('input') input: CreateAgentInput, @CurrentCaller() caller: Caller): Promise<Agent> {
    return Agent.from(await this.agentService.create(caller, input));
  }
}
