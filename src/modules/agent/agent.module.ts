import type { GatewayModule } from '../../common/gateway-module';
import { AgentEntity } from './agent.entity';
import { AgentResolver } from './agent.resolver';
import type { AgentService } from './agent.service';

export const agentModule: GatewayModule<{ agents: AgentService }> = {
  name: 'agent',
  entities: [AgentEntity],
  resolvers: [AgentResolver],
  createResolvers: ({ agents }) => [new AgentResolver(agents)],
};
