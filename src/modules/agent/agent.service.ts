import { can, assertCan } from '../../auth/policy';
import type { Caller } from '../../auth/caller';
import type { AuditLog } from '../../audit/audit-log';
import { audited } from '../../audit/audited';
import type { ModelSelectionRules } from '../../catalog/model-selection-rules';
import { notFound } from '../../common/errors';
import { isUuid } from '../../common/ids';
import type { ToolLimits } from '../../config';
import { TenantEntity } from '../tenant/tenant.entity';
import { AgentEntity } from './agent.entity';
import type { CreateAgentInput, UpdateAgentInput } from './agent.input';
import { checkToolDefinitions } from './tool-definitions';

export class AgentService {
  constructor(
    private readonly models: ModelSelectionRules,
    private readonly audit: AuditLog,
    private readonly toolLimits: Pick<ToolLimits, 'maxTools' | 'maxDefinitionBytes'>,
  ) {}

  async create(caller: Caller, input: CreateAgentInput): Promise<AgentEntity> {
    assertCan(caller.principal, 'agent.create');
    const tools = checkToolDefinitions(input.tools ?? [], this.toolLimits);
    if (input.model) await this.assertModel(caller, input.model);
    const agent = caller.em.create(AgentEntity, {
      tenant: caller.principal.tenantId,
      owner: caller.principal.userId,
      name: input.name.trim(),
      systemPrompt: input.systemPrompt,
      model: input.model ?? null,
      tools,
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

  /** Owner or tenant admin; omitted fields keep their value, `tools` replaces the list. */
  async update(caller: Caller, id: string, input: UpdateAgentInput): Promise<AgentEntity> {
    const changed = Object.keys(input).filter((key) => input[key as keyof UpdateAgentInput] !== undefined);
    return audited(
      this.audit,
      caller,
      { action: 'agent.update', targetType: 'agent', targetId: isUuid(id) ? id : null, detail: { changed } },
      async () => {
        const agent = await this.changeable(caller, id, 'agent.update');
        const tools =
          input.tools === undefined || input.tools === null
            ? undefined
            : checkToolDefinitions(input.tools, this.toolLimits);
        if (input.model && input.model !== agent.model) await this.assertModel(caller, input.model);
        if (input.name !== undefined && input.name !== null) agent.name = input.name.trim();
        if (input.systemPrompt !== undefined && input.systemPrompt !== null) agent.systemPrompt = input.systemPrompt;
        if (input.model !== undefined) agent.model = input.model;
        if (tools) agent.tools = tools;
        await caller.em.flush();
        return agent;
      },
    );
  }

  /** Owner or tenant admin. Its conversations stay, without their agent (the foreign key sets null). */
  async delete(caller: Caller, id: string): Promise<boolean> {
    return audited(
      this.audit,
      caller,
      { action: 'agent.delete', targetType: 'agent', targetId: isUuid(id) ? id : null },
      async () => {
        const agent = await this.changeable(caller, id, 'agent.delete');
        await caller.em.remove(agent).flush();
        return true;
      },
    );
  }

  /**
   * The agent, if the caller may change it: its owner or a tenant admin. Anyone else is told it
   * does not exist, as for another tenant's agent: whether an id is someone's agent is not theirs to learn.
   */
  private async changeable(caller: Caller, id: string, action: 'agent.update' | 'agent.delete'): Promise<AgentEntity> {
    assertCan(caller.principal, action);
    const agent = isUuid(id) ? await caller.em.findOne(AgentEntity, { id }) : null;
    const target = agent && { tenantId: agent.tenant.id, ownerId: agent.owner.id, hiddenAs: 'Agent' };
    if (!agent || !target || !can(caller.principal, action, target)) throw notFound('Agent');
    return agent;
  }

  private async assertModel(caller: Caller, model: string): Promise<void> {
    const tenant = await caller.em.findOneOrFail(TenantEntity, { id: caller.principal.tenantId });
    this.models.assertUsable(tenant, model);
    this.models.assertCurrent(model);
  }
}
