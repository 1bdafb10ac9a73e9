import { Role } from '../modules/user/role';

/** Roles that manage their own tenant (users, tokens, tenant keys, policy, rotation). */
export const TENANT_MANAGERS = [Role.TENANT_ADMIN, Role.PLATFORM_ADMIN];
/** Roles that read a tenant's audit log and usage. */
export const TENANT_READERS = [Role.TENANT_ADMIN, Role.PLATFORM_ADMIN, Role.AUDITOR];
