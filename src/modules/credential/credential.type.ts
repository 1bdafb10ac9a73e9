import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { CredentialEntity } from './credential.entity';
import { CredentialCheckResult } from './credential-check-result';
import { CredentialScope } from './credential-scope';
import { KeySource } from './key-source';
import { Provider } from './provider';

registerEnumType(Provider, { name: 'Provider' });
registerEnumType(CredentialScope, {
  name: 'CredentialScope',
  valuesConfig: {
    PERSONAL: { description: "Owned by one user, used only for that user's requests." },
    TENANT: { description: 'Shared by the tenant, set by a tenant admin.' },
  },
});
registerEnumType(KeySource, {
  name: 'KeySource',
  valuesConfig: {
    AUTO: { description: 'Personal key, else tenant key, else platform key (if the tenant allows it).' },
    PLATFORM: { description: "The operator's key from the environment." },
  },
});
registerEnumType(CredentialCheckResult, {
  name: 'CredentialCheckResult',
  valuesConfig: {
    VALID: { description: 'The provider accepted the key.' },
    REJECTED: { description: 'The provider rejected the key (401/403).' },
    UNREACHABLE: { description: 'The provider could not be asked (network failure or an error status); try again.' },
    NO_LIVE_CHECK: { description: 'Keyward has no live check for this provider yet; nothing was sent.' },
  },
});

@ObjectType({ description: 'A stored provider key. The key itself is never returned by any operation.' })
export class Credential {
  @Field(() => ID)
  id!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field(() => CredentialScope)
  scope!: CredentialScope;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field({ description: "The key's last four characters, for display." })
  last4!: string;

  @Field(() => Int, { description: 'Version of the tenant data key that encrypts it.' })
  dataKeyVersion!: number;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When testCredential last asked the provider about this key.' })
  lastCheckedAt!: Date | null;

  @Field(() => CredentialCheckResult, { nullable: true, description: 'What testCredential last found.' })
  lastCheckResult!: CredentialCheckResult | null;

  /** For the `owner` field resolver. */
  ownerId!: string | null;

  /** Deliberately copies metadata only: the ciphertext never reaches the GraphQL layer. */
  static from(entity: CredentialEntity): Credential {
    return Object.assign(new Credential(), {
      id: entity.id,
      provider: entity.provider,
      scope: entity.scope,
      label: entity.label,
      last4: entity.last4,
      dataKeyVersion: entity.dataKeyVersion,
      createdAt: entity.createdAt,
      updatedAt: entity.updatedAt,
      lastUsedAt: entity.lastUsedAt,
      lastCheckedAt: entity.lastCheckedAt,
      lastCheckResult: entity.lastCheckResult,
      ownerId: entity.owner?.id ?? null,
    });
  }
}

@ObjectType({ description: 'What the caller could use for one provider, as booleans only.' })
export class KeyStatus {
  @Field(() => Provider)
  provider!: Provider;

  @Field()
  hasPersonalKey!: boolean;

  @Field()
  hasTenantKey!: boolean;

  @Field()
  platformKeyAvailable!: boolean;
}
