import type { AuthCheckerInterface, ResolverData } from 'type-graphql';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditLog } from '../audit/audit-log';
import { forbidden, unauthenticated } from '../common/errors';
import type { GatewayContext } from '../server/context';
import type { Role } from '../modules/user/role';

/**
 * Backs `@Authorized(...roles)`: no principal is UNAUTHENTICATED, a role outside the list is
 * FORBIDDEN. Rules that depend on the object touched (own vs. other user, other tenant) live
 * in the services.
 */
export class RoleAuthChecker implements AuthCheckerInterface<GatewayContext, Role> {
  constructor(private readonly audit: AuditLog) {}

  async check({ context, info }: ResolverData<GatewayContext>, roles: Role[]): Promise<boolean> {
    if (context.authError) throw context.authError;
    if (!context.principal) throw unauthenticated();
    if (roles.length > 0 && !roles.includes(context.principal.role)) {
      await this.audit.append({
        tenantId: context.principal.tenantId,
        actorId: context.principal.userId,
        action: 'access.denied',
        targetType: 'operation',
        targetId: `${info.parentType.name}.${info.fieldName}`,
        outcome: AuditOutcome.DENIED,
        requestId: context.requestId,
        ip: context.ip,
        detail: { role: context.principal.role, code: 'FORBIDDEN' },
      });
      throw forbidden();
    }
    return true;
  }
}
