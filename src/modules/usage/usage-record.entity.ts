import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, type Ref } from '@mikro-orm/core';
import { CredentialEntity } from '../credential/credential.entity';
import { KeySource } from '../credential/key-source';
import { Provider } from '../credential/provider';
import { TenantEntity } from '../tenant/tenant.entity';
import { UserEntity } from '../user/user.entity';

export type UsageStatus = 'completed' | 'cancelled' | 'failed';

/** One upstream request: who, with which key source and model, what it cost and how long it took. */
@Entity({ tableName: 'usage_records' })
@Index({ properties: ['tenant', 'createdAt'], name: 'usage_records_tenant_created_index' })
export class UsageRecordEntity {
  [OptionalProps]?: 'createdAt' | 'credential' | 'ttftMs' | 'errorCode' | 'step';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => TenantEntity, { ref: true, deleteRule: 'cascade' })
  tenant!: Ref<TenantEntity>;

  @ManyToOne(() => UserEntity, { ref: true, deleteRule: 'cascade' })
  user!: Ref<UserEntity>;

  /** null for the platform key, or once the credential was deleted. */
  @ManyToOne(() => CredentialEntity, { ref: true, nullable: true, deleteRule: 'set null' })
  credential: Ref<CredentialEntity> | null = null;

  @Enum({ items: () => KeySource, type: 'text' })
  keySource!: KeySource;

  @Property({ type: 'text' })
  model!: string;

  /** The model's provider when the request was made, kept so usage still groups after the catalog drops the model. */
  @Enum({ items: () => Provider, type: 'text' })
  provider!: Provider;

  @Property({ type: 'text' })
  requestId!: string;

  /** Which model call of the request this is: 1, then one more per answered tool step (same requestId). */
  @Property({ type: 'integer', default: 1 })
  step: number = 1;

  @Property({ type: 'integer' })
  inputTokens!: number;

  @Property({ type: 'integer' })
  outputTokens!: number;

  @Property({ type: 'double' })
  costUsd!: number;

  /** Milliseconds to the first text delta; null when none arrived. */
  @Property({ type: 'integer', nullable: true })
  ttftMs: number | null = null;

  @Property({ type: 'integer' })
  totalMs!: number;

  @Property({ type: 'text' })
  status!: UsageStatus;

  @Property({ type: 'text', nullable: true })
  errorCode: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}
