import { ErrorCode, forbidden, notFound } from '../common/errors';
import { Role } from '../modules/user/role';
import type { Principal } from './principal';

/**
 * Every "who may do what" rule of the gateway, as data: which roles may perform each action, on
 * their own objects, on other users' objects of their tenant, and in other tenants; plus one
 * ordering of roles that no action may climb. Services and the auth checker ask `assertCan` or
 * `can`; a new rule is a line here, not an `if` in a service.
 */

/**
 * Roles from least to most privileged. A caller may never act on a user (or that user's tokens)
 * whose role ranks above its own, nor give anyone a role above its own. AUDITOR ranks above
 * MEMBER because it reads the whole tenant's audit log and usage, which a member never sees;
 * neither can manage anyone, so the order between them only matters to that rule.
 */
export const ROLE_ORDER: readonly Role[] = [Role.MEMBER, Role.AUDITOR, Role.TENANT_ADMIN, Role.PLATFORM_ADMIN];

export const rankOf = (role: Role): number => ROLE_ORDER.indexOf(role);

/** `role` is at least as privileged as `other`. */
export const ranksAtLeast = (role: Role, other: Role): boolean => rankOf(role) >= rankOf(other);

const EVERYONE: readonly Role[] = ROLE_ORDER;
const PLATFORM: readonly Role[] = [Role.PLATFORM_ADMIN];
/** Manage their own tenant: users, tokens, tenant keys, policy, rotation. */
const MANAGERS: readonly Role[] = [Role.TENANT_ADMIN, Role.PLATFORM_ADMIN];
/** Read their tenant's audit log and usage. */
const READERS: readonly Role[] = [Role.TENANT_ADMIN, Role.PLATFORM_ADMIN, Role.AUDITOR];
/** Everyone but the read-only auditor: spend, store keys, create things. */
const ACTORS: readonly Role[] = [Role.MEMBER, Role.TENANT_ADMIN, Role.PLATFORM_ADMIN];

export interface Permission {
  /** Roles that may perform the action at all: on their own objects, or on their tenant. */
  readonly roles: readonly Role[];
  /** Roles that may also perform it on objects of other users (or of the tenant itself) of their tenant. */
  readonly onOthers?: readonly Role[];
  /** Roles that may perform it in any tenant. */
  readonly acrossTenants?: readonly Role[];
}

export const PERMISSIONS = {
  'tenant.read': { roles: EVERYONE },
  'tenant.create': { roles: PLATFORM },
  'tenant.delete': { roles: PLATFORM, acrossTenants: PLATFORM },
  'tenant.updatePolicy': { roles: MANAGERS },
  'tenant.setPlatformKeyLimit': { roles: PLATFORM, acrossTenants: PLATFORM },
  'datakey.rotate': { roles: MANAGERS },
  'datakey.rewrap': { roles: PLATFORM },
  /** `me` and `setPreferredModel`: the caller's own account. */
  'user.self': { roles: EVERYONE },
  'user.list': { roles: MANAGERS },
  'user.create': { roles: MANAGERS, onOthers: MANAGERS },
  'token.issue': { roles: EVERYONE, onOthers: MANAGERS },
  'token.list': { roles: EVERYONE, onOthers: MANAGERS, acrossTenants: PLATFORM },
  'token.revoke': { roles: EVERYONE, onOthers: MANAGERS, acrossTenants: PLATFORM },
  /** PERSONAL keys are the caller's own; TENANT keys belong to the tenant (someone else's). */
  'credential.set': { roles: ACTORS, onOthers: MANAGERS },
  'credential.delete': { roles: EVERYONE, onOthers: MANAGERS },
  /** Asking the provider again about a stored key: whoever may delete it. */
  'credential.test': { roles: EVERYONE, onOthers: MANAGERS },
  /** Own personal keys; the tenant's keys and other users' (metadata) for managers. */
  'credential.list': { roles: EVERYONE, onOthers: MANAGERS },
  'credential.status': { roles: EVERYONE },
  'model.list': { roles: EVERYONE },
  'agent.list': { roles: EVERYONE },
  'agent.create': { roles: ACTORS },
  /** The agent's owner, or a tenant admin (others are told NOT_FOUND: AgentService). */
  'agent.update': { roles: ACTORS, onOthers: MANAGERS },
  'agent.delete': { roles: ACTORS, onOthers: MANAGERS },
  'chat.start': { roles: ACTORS },
  /** Answering one's own chat's tool calls (only the user who started it: ToolResults). */
  'chat.submitToolResults': { roles: ACTORS },
  'conversation.read': { roles: EVERYONE },
  'audit.read': { roles: READERS, acrossTenants: PLATFORM },
  /** Own usage rows; the whole tenant's for readers. */
  'usage.read': { roles: EVERYONE, onOthers: READERS },
} as const satisfies Record<string, Permission>;

export type Action = keyof typeof PERMISSIONS;
export const ACTIONS = Object.keys(PERMISSIONS) as Action[];

/** What an action touches. */
export interface Target {
  tenantId: string;
  /**
   * The user the object belongs to (a token's or personal key's owner, the user acted on).
   * null: it belongs to the tenant, not to a user (a tenant key, the tenant's rows as a whole),
   * so it is someone else's. Absent: the object is the tenant itself, and ownership does not apply.
   */
  ownerId?: string | null;
  /** The role of that user, or the role being given: it must not rank above the caller's. */
  ownerRole?: Role;
  /**
   * Names the object when it belongs to another tenant: NOT_FOUND, so that other tenants'
   * objects cannot be told from missing ones. Without it, another tenant is FORBIDDEN (a
   * tenant the caller named itself, such as an audit log's).
   */
  hiddenAs?: string;
}

export type Decision =
  | { allowed: true }
  | { allowed: false; code: typeof ErrorCode.FORBIDDEN; message: string }
  | { allowed: false; code: typeof ErrorCode.NOT_FOUND; what: string };

const ALLOWED: Decision = { allowed: true };
const deny = (message: string): Decision => ({ allowed: false, code: ErrorCode.FORBIDDEN, message });

/** The one place that answers "may this principal do this": role, tenant, ownership, role order, in that order. */
export function decide(
  principal: Pick<Principal, 'role' | 'tenantId' | 'userId'>,
  action: Action,
  target?: Target,
): Decision {
  const permission: Permission = PERMISSIONS[action];
  const { role } = principal;
  if (!permission.roles.includes(role)) return deny('Your role does not allow this operation');
  if (!target) return ALLOWED;
  if (target.tenantId !== principal.tenantId && !permission.acrossTenants?.includes(role)) {
    return target.hiddenAs
      ? { allowed: false, code: ErrorCode.NOT_FOUND, what: target.hiddenAs }
      : deny('Your role does not allow this operation on another tenant');
  }
  const ownerApplies = target.ownerId !== undefined;
  if (ownerApplies && target.ownerId !== principal.userId && !permission.onOthers?.includes(role)) {
    return deny("Your role does not allow this operation on other users' objects");
  }
  if (target.ownerRole !== undefined && !ranksAtLeast(role, target.ownerRole)) {
    return deny('You cannot act on a user, or give a role, above your own');
  }
  return ALLOWED;
}

export const can = (
  principal: Pick<Principal, 'role' | 'tenantId' | 'userId'>,
  action: Action,
  target?: Target,
): boolean => decide(principal, action, target).allowed;

/** Throws FORBIDDEN, or NOT_FOUND for another tenant's hidden object, unless `can` says yes. */
export function assertCan(
  principal: Pick<Principal, 'role' | 'tenantId' | 'userId'>,
  action: Action,
  target?: Target,
): void {
  const decision = decide(principal, action, target);
  if (decision.allowed) return;
  throw decision.code === ErrorCode.NOT_FOUND ? notFound(decision.what) : forbidden(decision.message);
}

/** The roles that may perform `action` at all (for documentation and the auth checker). */
export const rolesFor = (action: Action): readonly Role[] => PERMISSIONS[action].roles;

/** The target for an action on a user of a tenant, or on that user's objects. */
export const userTarget = (user: { id: string; role: Role; tenantId: string }, hiddenAs = 'User'): Target => ({
  tenantId: user.tenantId,
  ownerId: user.id,
  ownerRole: user.role,
  hiddenAs,
});

/** The target for reading or changing what belongs to a whole tenant (its rows, its tenant keys). */
export const tenantWide = (tenantId: string): Target => ({ tenantId, ownerId: null });
