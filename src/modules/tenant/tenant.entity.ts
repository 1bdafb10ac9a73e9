import { randomUUID } from 'node:crypto';
import { Entity, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';

export const DEFAULT_MODEL = 'claude-haiku-4-5';
export const DEFAULT_MAX_STEPS = 8;

@Entity({ tableName: 'tenants' })
export class TenantEntity {
  [OptionalProps]?:
    | 'createdAt'
    | 'isPlatform'
    | 'dataKeyVersion'
    | 'allowPlatformKey'
    | 'allowedModels'
    | 'defaultModel'
    | 'monthlyBudgetUsd'
    | 'requestsPerMinute'
    | 'maxSteps'
    | 'platformKeyEnabled'
    | 'platformKeyMonthlyCapUsd';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  name!: string;

  /** Lower-cased name: tenant names are unique regardless of case. */
  @Unique({ name: 'tenants_name_key_unique' })
  @Property({ type: 'text' })
  nameKey!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  /** The operator's own tenant, home of the platform admins; it cannot be deleted. */
  @Property({ type: 'boolean', default: false })
  isPlatform = false;

  @Property({ type: 'integer', default: 1 })
  dataKeyVersion = 1;

  @Property({ type: 'boolean', default: true })
  allowPlatformKey = true;

  @Property({ type: 'text[]', nullable: true })
  allowedModels: string[] | null = null;

  @Property({ type: 'text', default: DEFAULT_MODEL })
  defaultModel: string = DEFAULT_MODEL;

  @Property({ type: 'double', nullable: true })
  monthlyBudgetUsd: number | null = null;

  @Property({ type: 'integer', nullable: true })
  requestsPerMinute: number | null = null;

  /** Most model calls one chat may make in a tool loop (the first one included). */
  @Property({ type: 'integer', default: DEFAULT_MAX_STEPS })
  maxSteps: number = DEFAULT_MAX_STEPS;

  /**
   * The operator's switch for the platform key in this tenant (set by a platform admin only);
   * the tenant's own allowPlatformKey cannot turn it back on.
   */
  @Property({ type: 'boolean', default: true })
  platformKeyEnabled = true;

  /** The operator's cap on this tenant's platform-key spend per UTC month; null: no cap. */
  @Property({ type: 'double', nullable: true })
  platformKeyMonthlyCapUsd: number | null = null;
}
