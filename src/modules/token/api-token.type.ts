import { Field, ID, ObjectType } from 'type-graphql';
import type { ApiTokenEntity } from './api-token.entity';

@ObjectType()
export class ApiToken {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;

  /** For the `user` field resolver. */
  userId!: string;

  static from(entity: ApiTokenEntity): ApiToken {
    return Object.assign(new ApiToken(), {
      id: entity.id,
      name: entity.name,
      createdAt: entity.createdAt,
      expiresAt: entity.expiresAt,
      lastUsedAt: entity.lastUsedAt,
      revokedAt: entity.revokedAt,
      userId: entity.user.id,
    });
  }
}

@ObjectType()
export class IssuedApiToken {
  @Field({ description: 'The bearer token, shown once; only a hash of it is stored.' })
  token!: string;

  @Field(() => ApiToken)
  apiToken!: ApiToken;
}
