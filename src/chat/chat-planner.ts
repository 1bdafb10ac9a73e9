import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller';
import { badInput, notFound } from '../common/errors';
import { isUuid } from '../common/ids';
import { AgentEntity } from '../modules/agent/agent.entity';
import { ConversationEntity } from '../modules/conversation/conversation.entity';
import { MessageEntity } from '../modules/conversation/message.entity';
import type { KeySelector } from '../modules/credential/key-selector';
import { KeySource } from '../modules/credential/key-source';
import type { ModelSelectionRules } from '../catalog/model-selection-rules';
import type { CallerProfiles } from './caller-profiles';
import type { ProviderTurn } from '../providers/provider-stream';
import type { BudgetGuard } from '../limits/budget-guard';
import type { PlatformSpendGuard } from '../limits/platform-spend-guard';
import type { UserRateLimiter } from '../limits/user-rate-limiter';
import { worstCaseInputTokens } from '../limits/worst-case-input';
import type { CatalogModel } from '../catalog/model-catalog';
import type { ProviderRequest } from '../providers/provider-stream';
import { DEFAULT_OUTPUT_TOKENS, type ChatInput } from './chat.input';
import type { ChatPlan } from './chat-plan';
import type { ChatProviders } from './chat-providers';
import type { ToolLimits } from '../config';
import { checkToolDefinitions } from '../modules/agent/tool-definitions';
import { replayTurns } from './tool-turns';

/**
 * Decides model and key for one chat request (ModelSelectionRules, KeySelector),
 * loads the conversation history and drafts the user's turn. Everything that can be
 * refused is refused here, before ChatStarted.
 */
export class ChatPlanner {
  constructor(
    private readonly models: ModelSelectionRules,
    private readonly keys: KeySelector,
    private readonly rateLimiter: UserRateLimiter,
    private readonly budget: BudgetGuard,
    private readonly profiles: CallerProfiles,
    private readonly platformSpend: PlatformSpendGuard,
    private readonly chatProviders: ChatProviders,
    private readonly toolLimits: Pick<ToolLimits, 'maxTools' | 'maxDefinitionBytes'>,
  ) {}

  async plan(caller: Caller, input: ChatInput, requestId: string): Promise<ChatPlan> {
    // caller.em is read only where the database is needed: a warm chat reads caches alone (ForkOnUse).
    const { principal } = caller;
    if (!input.message.trim()) throw badInput('message must not be blank', 'message');
    // Request tools are checked before anything is read or counted; with the agent's, once more below.
    const requestTools = checkToolDefinitions(input.tools ?? [], this.toolLimits);
    const { tenant, preferredModel } = await this.profiles.of(caller, principal);
    const conversation = input.conversationId ? await this.ownConversation(caller, input.conversationId) : null;
    const agentId = input.agentId ?? conversation?.agent?.id ?? null;
    const agent = agentId ? await this.tenantAgent(caller, agentId) : null;

    const modelId = input.model ?? agent?.model ?? preferredModel ?? tenant.defaultModel;
    this.models.assertUsable(tenant, modelId);
    this.models.assertCurrent(modelId);
    const model = this.models.catalog.get(modelId)!;
    if (!this.chatProviders.has(model.provider)) {
      throw badInput(`Streaming chat is not available for ${model.provider} models`, 'model');
    }

    await this.rateLimiter.consume(principal.userId, tenant.requestsPerMinute);
    const key = await this.keys.resolve(caller, principal, tenant, model.provider, input.keySource ?? KeySource.AUTO);
    const history = conversation ? await this.history(caller, conversation.id) : [];
    const tools = checkToolDefinitions([...(agent?.tools ?? []), ...requestTools], this.toolLimits);
    const request: ProviderRequest = {
      model: model.id,
      system: agent?.systemPrompt,
      messages: [...history, { role: 'user', content: input.message }],
      maxTokens: input.maxTokens ?? DEFAULT_OUTPUT_TOKENS,
      ...(tools.length ? { tools } : {}),
    };
    const worstCaseUsd = this.worstCaseUsd(model, request);
    const platformReservationId =
      key.source === KeySource.PLATFORM && tenant.platformKeyMonthlyCapUsd !== null
        ? await this.platformSpend.reserve(caller.em, tenant.id, worstCaseUsd)
        : null;
    let reservationId: string | null;
    try {
      reservationId =
        tenant.monthlyBudgetUsd === null ? null : await this.budget.reserve(caller.em, tenant.id, worstCaseUsd);
    } catch (error) {
      await this.platformSpend.release(caller.em, platformReservationId);
      throw error;
    }

    const conversationId = conversation?.id ?? randomUUID();
    const turn = { conversationId, isNew: !conversation, agentId: agent?.id ?? null, message: input.message };
    return {
      requestId,
      tenantId: tenant.id,
      userId: principal.userId,
      conversationId,
      model,
      key,
      request,
      reservationId,
      platformReservationId,
      turn,
      maxSteps: tenant.maxSteps,
    };
  }

  /** Gives back what `plan` reserved, for a chat that will not start after all. */
  async abandon(caller: Caller, plan: ChatPlan): Promise<void> {
    await Promise.all([
      this.budget.release(caller.em, plan.reservationId),
      this.platformSpend.release(caller.em, plan.platformReservationId),
    ]);
  }

  /** The most this request can cost: an upper bound of its input tokens, and every output token it may generate. */
  private worstCaseUsd(model: CatalogModel, request: ProviderRequest): number {
    return this.models.catalog.costUsd(model, worstCaseInputTokens(request), request.maxTokens);
  }

  private async ownConversation(caller: Caller, id: string): Promise<ConversationEntity> {
    const conversation = isUuid(id)
      ? await caller.em.findOne(ConversationEntity, {
          id,
          owner: caller.principal.userId,
          tenant: caller.principal.tenantId,
        })
      : null;
    if (!conversation) throw notFound('Conversation');
    return conversation;
  }

  private async tenantAgent(caller: Caller, id: string): Promise<AgentEntity> {
    const agent = isUuid(id) ? await caller.em.findOne(AgentEntity, { id, tenant: caller.principal.tenantId }) : null;
    if (!agent) throw notFound('Agent');
    return agent;
  }

  /** Earlier turns, oldest first, tool calls and results included (see replayTurns). */
  private async history(caller: Caller, conversationId: string): Promise<ProviderTurn[]> {
    const messages = await caller.em.find(
      MessageEntity,
      { conversation: conversationId },
      { orderBy: { createdAt: 'asc', id: 'asc' } },
    );
    return replayTurns(messages);
  }
}
