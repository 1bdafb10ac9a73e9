import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, Index, ManyToOne, PrimaryKey, Property, Unique, type Ref } from '@mikro-orm/core';
import { UserEntity } from '../user/user.entity';

@Entity({ tableName: 'api_tokens' })
export class ApiTokenEntity {
  [OptionalProps]?: 'createdAt' | 'expiresAt' | 'lastUsedAt' | 'revokedAt';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Index({ name: 'api_tokens_user_id_index' })
  @ManyToOne(() => UserEntity, { ref: true, deleteRule: 'cascade' })
  user!: Ref<UserEntity>;

  @Property({ type: 'text' })
  name!: string;

  /** Hex SHA-256 of the bearer token; the token itself is never stored. */
  @Unique({ name: 'api_tokens_token_hash_unique' })
  @Property({ type: 'text' })
  tokenHash!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt: Date | null = null;
}
