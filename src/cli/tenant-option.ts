import type { EntityManager } from '@mikro-orm/postgresql';
import { chainOf } from '../audit/audit-log';
import { isUuid } from '../common/ids';

/**
 * Checks a command's `--tenant <id>`: a UUID naming a tenant, or a deleted tenant whose audit
 * chain remains. Anything else throws, so the command exits 2 instead of reporting on nothing.
 */
export async function requireKnownTenant(em: EntityManager, tenantId: string): Promise<void> {
  if (!isUuid(tenantId))
    throw new Error(`--tenant must be a tenant id (a UUID), not ${JSON.stringify(tenantId.slice(0, 80))}`);
  const [row] = await em
    .getConnection()
    .execute<Array<{ known: boolean }>>(
      'select exists (select 1 from tenants where id = ?) or exists (select 1 from audit_chain_heads where chain = ?) as known',
      [tenantId, chainOf(tenantId)],
    );
  if (!row?.known) throw new Error(`no tenant with id ${tenantId} (and no audit chain of a deleted one)`);
}
