import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { assertCan, can, tenantWide, type Target } from '../../auth/policy';
import { ErrorCode, isKeywardError, notFound } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { AuditOutcome } from '../../audit/audit-event.entity';
import { audited, callerFacts } from '../../audit/audited';
import type { AuditLog } from '../../audit/audit-log';
import type { Caller } from '../../auth/caller';
import type { CredentialVault } from '../../vault/credential-vault';
import { TenantEntity } from '../tenant/tenant.entity';
import { UserEntity } from '../user/user.entity';
import { CredentialEntity } from './credential.entity';
import type { SetCredentialInput } from './credential.input';
import { CredentialCheckResult } from './credential-check-result';
import { CredentialScope } from './credential-scope';
import { KeySource } from './key-source';
import type { KeySelector } from './key-selector';
import { assertProviderKeyFormat, last4Of } from './provider-key-format';
import { credentialBinding, sealedCredential } from './sealed-credential';
import { Provider } from './provider';
import type { CacheInvalidation } from '../../cache/cache-invalidation';
import type { KeyCheck, KeyCheckPass, KeyCheckRegistry } from '../../providers/key-checks';

export interface CredentialTestOutcome {
  row: CredentialEntity;
  result: CredentialCheckResult;
  message: string;
  /** What the provider said about an accepted key (scopes, restriction); null otherwise. */
  pass: KeyCheckPass | null;
}

export interface KeyStatusResult {
  provider: Provider;
  hasPersonalKey: boolean;
  hasTenantKey: boolean;
  platformKeyAvailable: boolean;
}

const CHECK_MESSAGES: Record<Exclude<CredentialCheckResult, CredentialCheckResult.NO_LIVE_CHECK>, string> = {
  [CredentialCheckResult.VALID]: 'The provider accepted this key',
  [CredentialCheckResult.REJECTED]: 'The provider rejected this key: replace it with a valid one',
  [CredentialCheckResult.UNREACHABLE]: 'Could not reach the provider to check this key; try again later',
};

/** A live check's answer as a result; errors other than the check's own two propagate. */
async function checkResult(
  check: KeyCheck,
  apiKey: string,
): Promise<{ result: Exclude<CredentialCheckResult, CredentialCheckResult.NO_LIVE_CHECK>; pass: KeyCheckPass | null }> {
  try {
    return { result: CredentialCheckResult.VALID, pass: await check(apiKey) };
  } catch (error) {
    if (isKeywardError(error) && error.code === ErrorCode.INVALID_PROVIDER_KEY)
      return { result: CredentialCheckResult.REJECTED, pass: null };
    if (isKeywardError(error) && error.code === ErrorCode.UPSTREAM_ERROR)
      return { result: CredentialCheckResult.UNREACHABLE, pass: null };
    throw error;
  }
}

function checkMessage(
  result: Exclude<CredentialCheckResult, CredentialCheckResult.NO_LIVE_CHECK>,
  pass: KeyCheckPass | null,
): string {
  const notes = [
    ...(pass?.restricted ? ['it is restricted: some endpoints refuse it'] : []),
    ...(pass?.scopes ? [`scopes: ${pass.scopes.length ? pass.scopes.join(', ') : 'none'}`] : []),
  ];
  return notes.length ? `${CHECK_MESSAGES[result]} (${notes.join('; ')})` : CHECK_MESSAGES[result];
}

/** The audit facts of an accepted key: its scopes and whether it is restricted, never the key. */
const passFacts = (pass: KeyCheckPass | null): Record<string, unknown> => ({
  ...(pass?.scopes ? { scopes: pass.scopes } : {}),
  ...(pass?.restricted ? { restricted: true } : {}),
});

export class CredentialService {
  constructor(
    private readonly vault: CredentialVault,
    private readonly keys: KeySelector,
    private readonly keyChecks: KeyCheckRegistry,
    private readonly audit: AuditLog,
    private readonly caches: CacheInvalidation,
  ) {}

  /**
   * Creates or replaces the caller's (PERSONAL) or the tenant's (TENANT) key for a provider.
   * Audited as credential.set or credential.replace, or credential.validate when the provider
   * rejected the key.
   */
  async set(caller: Caller, input: SetCredentialInput): Promise<CredentialEntity> {
    const detail = { provider: input.provider, scope: input.scope };
    try {
      const { row, replaced, pass } = await this.setUnaudited(caller, input);
      await this.audit.append({
        ...callerFacts(caller),
        action: replaced ? 'credential.replace' : 'credential.set',
        targetType: 'credential',
        targetId: row.id,
        outcome: AuditOutcome.SUCCESS,
        detail: { ...detail, last4: row.last4, dataKeyVersion: row.dataKeyVersion, ...passFacts(pass) },
      });
      return row;
    } catch (error) {
      const code = isKeywardError(error) ? error.code : ErrorCode.INTERNAL_SERVER_ERROR;
      const denied = code === ErrorCode.FORBIDDEN || code === ErrorCode.NOT_FOUND;
      await this.audit.append({
        ...callerFacts(caller),
        action: code === ErrorCode.INVALID_PROVIDER_KEY ? 'credential.validate' : 'credential.set',
        targetType: 'credential',
        outcome: denied ? AuditOutcome.DENIED : AuditOutcome.FAILURE,
        detail: { ...detail, code },
      });
      throw error;
    }
  }

  private async setUnaudited(
    caller: Caller,
    input: SetCredentialInput,
  ): Promise<{ row: CredentialEntity; replaced: boolean; pass: KeyCheckPass | null }> {
    const { tenantId, userId } = caller.principal;
    const slot: Target =
      input.scope === CredentialScope.PERSONAL ? { tenantId, ownerId: userId } : tenantWide(tenantId);
    assertCan(caller.principal, 'credential.set', slot);
    assertProviderKeyFormat(input.provider, input.apiKey);
    const check = this.keyChecks[input.provider];
    const pass = input.validate !== false && check ? await check(input.apiKey) : null;

    let stored: { row: CredentialEntity; replaced: boolean };
    try {
      stored = await this.store(caller, input);
    } catch (error) {
      // Two concurrent first writes for one slot: the loser replaces the winner's row.
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      stored = await this.store(caller, input);
    }
    await this.caches.tenantChanged({ tenantId: caller.principal.tenantId });
    return { ...stored, pass };
  }

  async delete(caller: Caller, id: string): Promise<boolean> {
    return audited(this.audit, caller, { action: 'credential.delete', targetType: 'credential', targetId: id }, () =>
      this.deleteUnaudited(caller, id),
    );
  }

  private async deleteUnaudited(caller: Caller, id: string): Promise<boolean> {
    const row = await this.manageable(caller, id, 'credential.delete');
    await caller.em.nativeDelete(CredentialEntity, { id: row.id });
    await this.caches.tenantChanged({
      tenantId: row.tenant.id,
      stop: { reason: 'CREDENTIAL_DELETED', credentialId: row.id },
    });
    return true;
  }

  /**
   * Asks the provider again whether a stored key is accepted (the vault lends the plaintext to
   * the check) and records when and what it answered. Same permissions as delete; audited as
   * credential.test.
   */
  async test(caller: Caller, id: string): Promise<CredentialTestOutcome> {
    return audited(
      this.audit,
      caller,
      { action: 'credential.test', targetType: 'credential', targetId: id },
      () => this.testUnaudited(caller, id),
      (outcome) => ({
        detail: {
          provider: outcome.row.provider,
          scope: outcome.row.scope,
          result: outcome.result,
          ...passFacts(outcome.pass),
        },
      }),
    );
  }

  private async testUnaudited(caller: Caller, id: string): Promise<CredentialTestOutcome> {
    const row = await this.manageable(caller, id, 'credential.test');
    const check = this.keyChecks[row.provider];
    if (!check) {
      return {
        row,
        result: CredentialCheckResult.NO_LIVE_CHECK,
        message: `Keyward has no live check for ${row.provider} keys yet; the key is stored but was not tested`,
        pass: null,
      };
    }
    const { result, pass } = await this.vault.lend(caller.em, sealedCredential(row), (apiKey) =>
      checkResult(check, apiKey),
    );
    row.lastCheckedAt = new Date();
    row.lastCheckResult = result;
    await caller.em.flush();
    return { row, result, message: checkMessage(result, pass), pass };
  }

  /** A credential the caller may delete or test. */
  private async manageable(
    caller: Caller,
    id: string,
    action: 'credential.delete' | 'credential.test',
  ): Promise<CredentialEntity> {
    const row = isUuid(id) ? await caller.em.findOne(CredentialEntity, { id }, { populate: ['owner'] }) : null;
    if (!row) throw notFound('Credential');
    const owner = row.scope === CredentialScope.PERSONAL ? (row.owner?.getEntity() ?? null) : null;
    assertCan(caller.principal, action, {
      tenantId: row.tenant.id,
      ownerId: owner?.id ?? null,
      ownerRole: owner?.role,
      hiddenAs: 'Credential',
    });
    return row;
  }

  /** Own personal keys; admins also see every credential of the tenant (metadata only). */
  async list(caller: Caller): Promise<CredentialEntity[]> {
    const { tenantId, userId } = caller.principal;
    const where = can(caller.principal, 'credential.list', tenantWide(tenantId))
      ? { tenant: tenantId }
      : { tenant: tenantId, scope: CredentialScope.PERSONAL, owner: userId };
    return caller.em.find(CredentialEntity, where, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  async keyStatus(caller: Caller, provider: Provider): Promise<KeyStatusResult> {
    const tenant = await caller.em.findOneOrFail(TenantEntity, { id: caller.principal.tenantId });
    const sources = await this.keys.availableSources(caller.em, caller.principal, tenant, provider);
    return {
      provider,
      hasPersonalKey: sources.includes(KeySource.PERSONAL),
      hasTenantKey: sources.includes(KeySource.TENANT),
      platformKeyAvailable: this.keys.platformAvailable(tenant, provider),
    };
  }

  /**
   * One transaction holding a share lock on the tenant row, so a concurrent rotation (which
   * takes it exclusively) cannot leave this key under a retired data-key version.
   */
  private store(caller: Caller, input: SetCredentialInput): Promise<{ row: CredentialEntity; replaced: boolean }> {
    const { tenantId, userId } = caller.principal;
    return caller.em.transactional(async (tx: EntityManager) => {
      const tenant = await tx.findOneOrFail(TenantEntity, { id: tenantId }, { lockMode: LockMode.PESSIMISTIC_READ });
      const owner = input.scope === CredentialScope.PERSONAL ? tx.getReference(UserEntity, userId) : null;
      const slot = { tenant: tenantId, provider: input.provider, scope: input.scope, owner: owner ? userId : null };
      const existing = await tx.findOne(CredentialEntity, slot);
      const row =
        existing ??
        tx.create(CredentialEntity, {
          tenant,
          provider: input.provider,
          scope: input.scope,
          owner,
          ciphertext: Buffer.alloc(0),
          last4: '',
          dataKeyVersion: 0,
        });
      if (input.label !== undefined) row.label = input.label?.trim() ?? null;
      row.last4 = last4Of(input.apiKey);
      row.ciphertext = await this.vault.seal(tx, credentialBinding(row, tenant.dataKeyVersion), input.apiKey);
      row.dataKeyVersion = tenant.dataKeyVersion;
      await tx.flush();
      return { row, replaced: existing !== null };
    });
  }
}
