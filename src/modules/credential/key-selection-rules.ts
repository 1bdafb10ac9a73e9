import { ErrorCode } from '../../common/errors';
import { KeySource, type ConcreteKeySource } from './key-source';
import type { Provider } from './provider';

/** What key selection reads of a tenant's policy: the tenant's own switch and the operator's. */
export interface PlatformKeyPolicy {
  /** The tenant's policy lets its members use the platform key. */
  readonly allowPlatformKey: boolean;
  /** The operator has not switched the platform key off for this tenant (wins over allowPlatformKey). */
  readonly platformKeyEnabled: boolean;
}

/** Everything the choice depends on, for one caller and one provider. */
export interface KeyFacts {
  provider: Provider;
  /** The caller has a personal key for the provider. */
  hasPersonal: boolean;
  /** The caller's tenant has a shared (TENANT) key for the provider. */
  hasTenant: boolean;
  tenant: PlatformKeyPolicy;
  /** The operator configured a platform key for the provider. */
  platformConfigured: boolean;
}

/** The source to serve the request from, or why none may. */
export type KeyChoice = { source: ConcreteKeySource } | { refused: ErrorCode; message: string };

/** The platform key may serve this caller: the operator and the tenant allow it, and it exists. */
export const platformKeyAvailable = (facts: Pick<KeyFacts, 'tenant' | 'platformConfigured'>): boolean =>
  facts.tenant.platformKeyEnabled && facts.tenant.allowPlatformKey && facts.platformConfigured;

/** Which sources could serve the request, in AUTO's order. */
export function availableKeySources(facts: KeyFacts): ConcreteKeySource[] {
  const sources: ConcreteKeySource[] = [];
  if (facts.hasPersonal) sources.push(KeySource.PERSONAL);
  if (facts.hasTenant) sources.push(KeySource.TENANT);
  if (platformKeyAvailable(facts)) sources.push(KeySource.PLATFORM);
  return sources;
}

/**
 * The key source for a request. AUTO takes the caller's personal key, else the tenant's shared
 * key, else the platform key if allowed and configured. An explicit source is that source or an
 * error, never a fall-back to another one.
 */
export function chooseKeySource(requested: KeySource, facts: KeyFacts): KeyChoice {
  const { provider } = facts;
  switch (requested) {
    case KeySource.PERSONAL:
      return facts.hasPersonal
        ? { source: KeySource.PERSONAL }
        : { refused: ErrorCode.PERSONAL_KEY_MISSING, message: `You have no personal ${provider} key` };
    case KeySource.TENANT:
      return facts.hasTenant
        ? { source: KeySource.TENANT }
        : { refused: ErrorCode.TENANT_KEY_MISSING, message: `Your tenant has no shared ${provider} key` };
    case KeySource.PLATFORM:
      if (!facts.tenant.platformKeyEnabled) {
        return {
          refused: ErrorCode.PLATFORM_KEY_DISABLED,
          message: 'The operator has switched off the platform key for your tenant',
        };
      }
      if (!facts.tenant.allowPlatformKey) {
        return {
          refused: ErrorCode.PLATFORM_KEY_DISABLED,
          message: "Your tenant's policy does not allow the platform key",
        };
      }
      if (!facts.platformConfigured) {
        return { refused: ErrorCode.NO_CREDENTIAL, message: `The operator has configured no platform ${provider} key` };
      }
      return { source: KeySource.PLATFORM };
    case KeySource.AUTO: {
      const [first] = availableKeySources(facts);
      if (first) return { source: first };
      return {
        refused: ErrorCode.NO_CREDENTIAL,
        message: `No ${provider} key is available to you (personal, tenant or platform)`,
      };
    }
  }
}
