import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { KeySource } from '../credential/key-source';
import { Provider } from '../credential/provider';

export enum UsageDimension {
  USER = 'USER',
  MODEL = 'MODEL',
  KEY_SOURCE = 'KEY_SOURCE',
  DAY = 'DAY',
  PROVIDER = 'PROVIDER',
}
registerEnumType(UsageDimension, { name: 'UsageDimension' });

@InputType()
export class UsageFilter {
  @Field(() => Date, { nullable: true })
  since?: Date | null;

  @Field(() => Date, { nullable: true })
  until?: Date | null;

  @Field(() => ID, { nullable: true })
  userId?: string | null;

  @Field(() => String, { nullable: true })
  model?: string | null;

  @Field(() => KeySource, { nullable: true })
  keySource?: KeySource | null;

  @Field(() => Provider, { nullable: true })
  provider?: Provider | null;
}

@ObjectType({ description: 'One group of usage; the dimension fields not grouped by are null.' })
export class UsageBucket {
  @Field(() => ID, { nullable: true })
  userId!: string | null;

  @Field(() => String, { nullable: true })
  model!: string | null;

  @Field(() => KeySource, { nullable: true })
  keySource!: KeySource | null;

  @Field(() => String, { nullable: true, description: 'UTC day, YYYY-MM-DD.' })
  day!: string | null;

  @Field(() => Provider, { nullable: true, description: "The model's provider when the requests were made." })
  provider!: Provider | null;

  @Field(() => Int)
  requests!: number;

  @Field(() => Int)
  inputTokens!: number;

  @Field(() => Int)
  outputTokens!: number;

  @Field(() => Float)
  costUsd!: number;
}
