import {
  ArrayMaxSize,
  IsEmail,
  IsInt,
  IsNumber,
  IsOptional,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from '../../common/class-validator';
import { Field, Float, InputType, Int } from 'type-graphql';
import { DisplayName } from '../../common/text-constraints';
import { MAX_EMAIL_LENGTH, MAX_PERSON_NAME_LENGTH } from '../user/user.input';

export const MAX_TENANT_NAME_LENGTH = 100;

@InputType({ description: 'Omitted fields keep their value.' })
export class PlatformKeyLimitInput {
  @Field(() => Boolean, { nullable: true })
  enabled?: boolean | null;

  @Field(() => Float, { nullable: true, description: 'USD per UTC month; null: no cap.' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'must be a finite number' })
  @Min(0, { message: 'must not be negative' })
  @Max(1_000_000_000, { message: 'must be at most 1e9' })
  monthlyCapUsd?: number | null;
}

@InputType()
export class CreateTenantInput {
  @Field()
  @DisplayName(MAX_TENANT_NAME_LENGTH)
  name!: string;

  @Field()
  @MaxLength(MAX_EMAIL_LENGTH, { message: `must be at most ${MAX_EMAIL_LENGTH} characters` })
  @IsEmail({}, { message: 'must be a valid email address' })
  adminEmail!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @DisplayName(MAX_PERSON_NAME_LENGTH)
  adminName?: string | null;

  @Field(() => PlatformKeyLimitInput, {
    nullable: true,
    description: 'The platform-key limit from the first moment; default: enabled, no cap.',
  })
  @IsOptional()
  @ValidateNested()
  platformKey?: PlatformKeyLimitInput | null;
}

@InputType()
export class UpdateTenantPolicyInput {
  @Field(() => Boolean, { nullable: true })
  allowPlatformKey?: boolean | null;

  @Field(() => [String], { nullable: true, description: 'null: every model in the catalog.' })
  @IsOptional()
  @ArrayMaxSize(200)
  allowedModels?: string[] | null;

  @Field(() => String, { nullable: true })
  defaultModel?: string | null;

  @Field(() => Float, { nullable: true, description: 'null: no budget.' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'must be a finite number' })
  @Min(0, { message: 'must not be negative' })
  @Max(1_000_000_000, { message: 'must be at most 1e9' })
  monthlyBudgetUsd?: number | null;

  @Field(() => Int, { nullable: true, description: 'Per user; null: no limit.' })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'must be at least 1' })
  @Max(100_000, { message: 'must be at most 100000' })
  requestsPerMinute?: number | null;

  @Field(() => Int, { nullable: true, description: 'Model calls per chat in a tool loop (default 8).' })
  @IsOptional()
  @IsInt()
  @Min(1, { message: 'must be at least 1' })
  @Max(100, { message: 'must be at most 100' })
  maxSteps?: number | null;
}
