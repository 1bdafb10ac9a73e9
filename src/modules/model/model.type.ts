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

  @Field(() => [KeySource], {
    description: 'The key sources that would serve this model for the caller right now; empty if none.',
  })
  keySources!: KeySource[];
}
