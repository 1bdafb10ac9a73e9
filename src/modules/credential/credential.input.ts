import { IsOptional } from '../../common/class-validator';
import { Field, InputType } from 'type-graphql';
import { DisplayName } from '../../common/text-constraints';
import { CredentialScope } from './credential-scope';
import { Provider } from './provider';

export const MAX_CREDENTIAL_LABEL_LENGTH = 100;

@InputType()
export class SetCredentialInput {
  @Field(() => Provider)
  provider!: Provider;

  @Field(() => CredentialScope)
  scope!: CredentialScope;

  /** Checked by the credential service (format per provider), never echoed in errors. */
  @Field()
  apiKey!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @DisplayName(MAX_CREDENTIAL_LABEL_LENGTH)
  label?: string | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: true,
    description: 'Check the key against the provider before storing it.',
  })
  validate?: boolean | null;
}
