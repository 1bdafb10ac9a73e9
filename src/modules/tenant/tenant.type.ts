import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { TenantEntity } from './tenant.entity';

@ObjectType()
export class TenantPolicy {
  @Field()
  allowPlatformKey!: boolean;

  @Field(() => [String], { nullable: true, description: 'null: every model in the catalog.' })
  allowedModels!: string[] | null;

  @Field()
  defaultModel!: string;

  @Field(() => Float, { nullable: true, description: 'null: no budget.' })
  monthlyBudgetUsd!: number | null;

  @Field(() => Int, { nullable: true, description: 'Per user; null: no limit.' })
  requestsPerMinute!: number | null;

  @Field(() => Int, {
    description:
      'Most model calls one chat may make in a tool loop (each answered step is one more); beyond: TOOL_STEPS_EXCEEDED.',
  })
  maxSteps!: number;
}

@ObjectType({
  description:
    "The operator's limits on this tenant's use of the platform key. Set by a platform admin (setPlatformKeyLimit); read-only to the tenant.",
})
export class PlatformKeyLimit {
  @Field({
    description: 'false: the platform key serves no request of this tenant, whatever its own allowPlatformKey says.',
  })
  enabled!: boolean;

  @Field(() => Float, { nullable: true, description: 'USD of platform-key spend per UTC month; null: no cap.' })
  monthlyCapUsd!: number | null;
}

@ObjectType()
export class Tenant {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  createdAt!: Date;

  @Field(() => Int, { description: "Version of the tenant's active data key: 1 at creation, +1 at each rotation." })
  dataKeyVersion!: number;

  @Field(() => TenantPolicy)
  policy!: TenantPolicy;

  @Field(() => PlatformKeyLimit)
  platformKey!: PlatformKeyLimit;

  static from(entity: TenantEntity): Tenant {
    return Object.assign(new Tenant(), {
      id: entity.id,
      name: entity.name,
      createdAt: entity.createdAt,
      dataKeyVersion: entity.dataKeyVersion,
      policy: Object.assign(new TenantPolicy(), {
        allowPlatformKey: entity.allowPlatformKey,
        allowedModels: entity.allowedModels,
        defaultModel: entity.defaultModel,
        monthlyBudgetUsd: entity.monthlyBudgetUsd,
        requestsPerMinute: entity.requestsPerMinute,
        maxSteps: entity.maxSteps,
      }),
      platformKey: Object.assign(new PlatformKeyLimit(), {
        enabled: entity.platformKeyEnabled,
        monthlyCapUsd: entity.platformKeyMonthlyCapUsd,
      }),
    });
  }
}
