import type { AuthCheckerInterface, ResolverData } from 'type-graphql';
import { forbidden, unauthenticated } from '../common/errors';
import type { GatewayContext } from '../server/context';
import type { Role } from '../modules/user/role';

/**
 * Backs `@Authorized(...roles)`: no principal is UNAUTHENTICATED, a role outside the list is
 * FORBIDDEN. Rules that depend on the object touched (own vs. other user, other tenant) live
 * in the services.
 */
export class RoleAuthChecker implements AuthCheckerInterface<GatewayContext, Role> {
  check({ context }: ResolverData<GatewayContext>, roles: Role[]): boolean {
    if (context.authError) throw context.authError;
    if (!context.principal) throw unauthenticated();
    if (roles.length > 0 && !roles.includes(context.principal.role)) throw forbidden();
    return true;
  }
}
