import { AuditLog } from '../audit/audit-log';
import { AuditOutcome } from '../audit/audit-event.entity';
import { generateBearerToken, hashBearerToken } from '../auth/bearer-token';
import type { Config } from '../config';
import { ApiTokenEntity } from '../modules/token/api-token.entity';
import { TenantEntity } from '../modules/tenant/tenant.entity';
import { Role } from '../modules/user/role';
import { UserEntity } from '../modules/user/user.entity';
import { auditKeysFor, cliLogger, withDatabase } from './cli-database';

export const ADMIN_TOKEN_NAME = 'admin-token (command line)';

/**
 * `keyward admin-token`: a new bearer token for the platform's first PLATFORM_ADMIN, for an
 * operator who lost the bootstrap token. The token and its audit event (token.issue on the
 * platform tenant's chain, no actor, `via: cli`) are written together; the token goes to
 * stdout once and is never stored.
 */
export async function runAdminToken(config: Config): Promise<number> {
  const log = cliLogger(config);
  const auditKeys = await auditKeysFor(config, log);
  return withDatabase(config, log, async (orm) => {
    const audit = new AuditLog(orm.em, log, auditKeys);
    const token = generateBearerToken();
    const admin = await orm.em.fork().transactional(async (tx) => {
      const platform = await tx.findOne(TenantEntity, { isPlatform: true });
      const user = platform
        ? await tx.findOne(
            UserEntity,
            { tenant: platform, role: Role.PLATFORM_ADMIN },
            { orderBy: { createdAt: 'asc' } },
          )
        : null;
      if (!platform || !user) return null;
      const issued = tx.create(ApiTokenEntity, { user, name: ADMIN_TOKEN_NAME, tokenHash: hashBearerToken(token) });
      await tx.flush();
      await audit.appendWithin(tx, [
        {
          tenantId: platform.id,
          actorId: null,
          action: 'token.issue',
          targetType: 'api_token',
          targetId: issued.id,
          outcome: AuditOutcome.SUCCESS,
          detail: { userId: user.id, via: 'cli' },
        },
      ]);
      return user;
    });
    if (!admin) {
      process.stderr.write(
        'keyward: this database has no platform admin yet: start the server once, it creates one and prints its token\n',
      );
      return 2;
    }
    process.stderr.write(`New PLATFORM_ADMIN token for ${admin.email} (shown once, store it now):\n`);
    process.stdout.write(`${token}\n`);
    return 0;
  });
}
