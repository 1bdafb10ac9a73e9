import { Arg, Authorized, ID, Mutation, Query, Resolver } from 'type-graphql';
import type { Caller } from '../../auth/caller';
import { CurrentCaller } from '../../auth/current-caller';
import type { Action } from '../../auth/policy';
import { CreateAgentInput, UpdateAgentInput } from './agent.input';
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

  @Authorized()
  @Mutation(() => Agent, { description: "The agent's owner or a tenant admin; others: NOT_FOUND." })
  async updateAgent(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateAgentInput,
    @CurrentCaller() caller: Caller,
  ): Promise<Agent> {
    return Agent.from(await this.agentService.update(caller, id, input));
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "The agent's owner or a tenant admin; others: NOT_FOUND." })
  async deleteAgent(@Arg('id', () => ID) id: string, @CurrentCaller() caller: Caller): Promise<boolean> {
    return this.agentService.delete(caller, id);
  }
}
