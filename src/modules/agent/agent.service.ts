import { assertCan } from '../../auth/policy';
import type { Caller } from '../../auth/caller';
import type { ModelSelectionRules } from '../../catalog/model-selection-rules';
import { TenantEntity } from '../tenant/tenant.entity';
import { AgentEntity } from './agent.entity';
import type { CreateAgentInput } from './agent.input';

export class AgentService {
  constructor(private readonly models: ModelSelectionRules) {}

  async create(caller: Caller, input: CreateAgentInput): Promise<AgentEntity> {
    assertCan(caller.principal, 'agent.create');
    if (input.model) {
      const tenant = await caller.em.findOneOrFail(TenantEntity, { id: caller.principal.tenantId });
      this.models.assertUsable(tenant, input.model);
      this.models.assertCurrent(input.model);
    }
    const agent = caller.em.create(AgentEntity, {
      tenant: caller.principal.tenantId,
      owner: caller.principal.userId,
      name: input.name.trim(),
      systemPrompt: input.systemPrompt,
      model: input.model ?? null,
    });
    await caller.em.flush();
    return agent;
  }

  async list(caller: Caller): Promise<AgentEntity[]> {
    return caller.em.find(
      AgentEntity,
      { tenant: caller.principal.tenantId },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
  }
}
