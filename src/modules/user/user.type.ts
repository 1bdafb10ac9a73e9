import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Role } from './role';
import type { UserEntity } from './user.entity';

registerEnumType(Role, {
  name: 'Role',
  valuesConfig: {
    PLATFORM_ADMIN: { description: "Creates and deletes tenants, rewraps data keys, reads every tenant's audit log." },
    TENANT_ADMIN: { description: 'Manages its tenant: users, tokens, tenant keys, policy, rotation, audit, usage.' },
    MEMBER: { description: 'Own personal keys, own tokens, chat, own conversations and usage.' },
    AUDITOR: { description: "Read-only: its tenant's audit log, audit verification and usage." },
  },
});

@ObjectType()
export class User {
  @Field(() => ID)
  id!: string;

  @Field()
  email!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => Role)
  role!: Role;

  @Field(() => String, { nullable: true })
  preferredModel!: string | null;

  @Field()
  createdAt!: Date;

  /** Resolved by a field resolver; not a GraphQL field of its own here. */
  tenantId!: string;

  static from(entity: UserEntity): User {
    return Object.assign(new User(), {
      id: entity.id,
      email: entity.email,
      name: entity.name,
      role: entity.role,
      preferredModel: entity.preferredModel,
      createdAt: entity.createdAt,
      tenantId: entity.tenant.id,
    });
  }
}
