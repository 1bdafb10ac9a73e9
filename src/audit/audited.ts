import { ErrorCode, isKeywardError } from '../common/errors';
import type { Caller } from '../auth/caller';
import { AuditOutcome } from './audit-event.entity';
import type { AuditLog, AuditRecord } from './audit-log';

const DENIAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.FORBIDDEN,
  ErrorCode.NOT_FOUND,
  ErrorCode.UNAUTHENTICATED,
]);

export type AuditSpec = Pick<AuditRecord, 'action' | 'targetType' | 'targetId' | 'detail'>;

/** The caller's part of every event: tenant, actor, request id and client address. */
export const callerFacts = (caller: Caller) => ({
  tenantId: caller.principal.tenantId,
  actorId: caller.principal.userId,
  requestId: caller.requestId,
  ip: caller.ip,
});

/**
 * Runs a security-relevant action and records exactly one event for it: SUCCESS (with what
 * `describe` adds from the result), DENIED for FORBIDDEN/NOT_FOUND, FAILURE for anything else.
 * The error is rethrown unchanged.
 */
export async function audited<T>(
  audit: AuditLog,
  caller: Caller,
  spec: AuditSpec,
  run: () => Promise<T>,
  describe?: (result: T) => Partial<AuditSpec>,
): Promise<T> {
  try {
    const result = await run();
    const extra = describe?.(result) ?? {};
    await audit.append({
      ...callerFacts(caller),
      ...spec,
      ...extra,
      detail: { ...spec.detail, ...extra.detail },
      outcome: AuditOutcome.SUCCESS,
    });
    return result;
  } catch (error) {
    const code = isKeywardError(error) ? error.code : ErrorCode.INTERNAL_SERVER_ERROR;
    await audit.append({
      ...callerFacts(caller),
      ...spec,
      detail: { ...spec.detail, code },
      outcome: DENIAL_CODES.has(code) ? AuditOutcome.DENIED : AuditOutcome.FAILURE,
    });
    throw error;
  }
}
