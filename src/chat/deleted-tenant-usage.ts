import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditLog } from '../audit/audit-log';
import type { ChatObserver } from './chat-runner';

/**
 * A chat stopped because its tenant was deleted cannot leave a usage row (the tenant's rows are
 * gone), but its tenant's audit chain outlives it: the usage goes there, as a chat.interrupted
 * event, so the operator still sees what the provider call cost (for the platform key above all).
 */
export const deletedTenantUsage =
  (audit: AuditLog): ChatObserver =>
  (chat, outcome) => {
    if (outcome.errorCode !== 'TENANT_DELETED') return;
    void audit.append({
      tenantId: chat.tenantId,
      actorId: chat.userId,
      action: 'chat.interrupted',
      targetType: chat.key.credentialId ? 'credential' : 'platform_key',
      targetId: chat.key.credentialId,
      outcome: AuditOutcome.FAILURE,
      requestId: chat.requestId,
      detail: {
        code: outcome.errorCode,
        keySource: chat.key.source,
        model: chat.model.id,
        inputTokens: outcome.inputTokens,
        outputTokens: outcome.outputTokens,
        costUsd: outcome.costUsd,
      },
    });
  };
