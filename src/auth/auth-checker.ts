import type { AuthCheckerInterface, ResolverData } from 'type-graphql';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditLog } from '../audit/audit-log';
import { ErrorCode } from '../common/codes';
import { forbidden, unauthenticated } from '../common/errors';
import type { RequestContext } from './request-context';
import { can, type Action } from './policy';

/**
 * Backs `@Authorized<Action>(action)`: no principal is UNAUTHENTICATED; a role the permission
 * table does not give the action is FORBIDDEN, and audited as access.denied. `@Authorized()`
 * only requires a principal. Rules that depend on the object touched (own vs. other user,
 * other tenant, role order) are asked of the same table by the services.
 */
export class RoleAuthChecker implements AuthCheckerInterface<RequestContext, Action> {
  constructor(private readonly audit: AuditLog) {}

  async check({ context, info }: ResolverData<RequestContext>, actions: Action[]): Promise<boolean> {
    if (context.authError) throw context.authError;
    const { principal } = context;
    if (!principal) throw unauthenticated();
    if (!actions.every((action) => can(principal, action))) {
      await this.audit.append({
        tenantId: principal.tenantId,
        actorId: principal.userId,
        action: 'access.denied',
        targetType: 'operation',
        targetId: `${info.parentType.name}.${info.fieldName}`,
        outcome: AuditOutcome.DENIED,
        requestId: context.requestId,
        ip: context.ip,
        detail: { role: principal.role, code: ErrorCode.FORBIDDEN },
      });
      throw forbidden();
    }
    return true;
  }
}
