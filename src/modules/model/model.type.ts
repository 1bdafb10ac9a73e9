import { Field, Float, ObjectType } from 'type-graphql';
import { KeySource } from '../credential/key-source';
import { Provider } from '../credential/provider';

@ObjectType()
export class Model {
  @Field()
  id!: string;

  @Field(() => Provider)
  provider!: Provider;

  @Field()
  displayName!: string;

  @Field(() => Float)
  inputUsdPerMTok!: number;

  @Field(() => Float)
  outputUsdPerMTok!: number;

  @Field(() => Boolean, { description: 'Whether the provider has announced an end of life for this model.' })
  deprecated!: boolean;

  @Field(() => Date, {
    nullable: true,
    description: 'When the model retires (start of its end-of-life day, UTC); null when none is announced.',
  })
  endOfLife!: Date | null;

  @Field(() => Boolean, {
    description: 'Past its end of life: chats and new settings that name it are refused (MODEL_RETIRED).',
  })
  retired!: boolean;

  @Field(() => [KeySource], {
    description: 'The key sources that would serve this model for the caller right now; empty if none.',
  })
  keySources!: KeySource[];
}
