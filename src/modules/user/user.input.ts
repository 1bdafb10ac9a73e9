import { IsEmail, IsOptional, MaxLength } from '../../common/class-validator';
import { Field, InputType } from 'type-graphql';
import { DisplayName } from '../../common/text-constraints';
import { Role } from './role';

export const MAX_EMAIL_LENGTH = 254;
export const MAX_PERSON_NAME_LENGTH = 200;

@InputType()
export class CreateUserInput {
  @Field()
  @MaxLength(MAX_EMAIL_LENGTH, { message: `must be at most ${MAX_EMAIL_LENGTH} characters` })
  @IsEmail({}, { message: 'must be a valid email address' })
  email!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @DisplayName(MAX_PERSON_NAME_LENGTH)
  name?: string | null;

  @Field(() => Role)
  role!: Role;
}
