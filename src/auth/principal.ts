import type { Role } from '../modules/user/role';

/** Who is calling, as established from a bearer token. */
export interface Principal {
  userId: string;
  tenantId: string;
  role: Role;
  tokenId: string;
}
