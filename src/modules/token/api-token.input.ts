import { Field, ID, InputType } from 'type-graphql';
import { DisplayName } from '../../common/text-constraints';

export const MAX_TOKEN_NAME_LENGTH = 100;

@InputType()
export class IssueApiTokenInput {
  @Field()
  @DisplayName(MAX_TOKEN_NAME_LENGTH)
  name!: string;

  @Field(() => ID, {
    nullable: true,
    description: "Another user of the caller's tenant (admins only); default: the caller.",
  })
  userId?: string | null;

  @Field(() => Date, { nullable: true })
  expiresAt?: Date | null;
}
