import { Field, ObjectType } from 'type-graphql';
import { CredentialCheckResult } from './credential-check-result';
import { Credential } from './credential.type';

@ObjectType({ description: 'The outcome of testCredential.' })
export class CredentialTest {
  @Field(() => Credential)
  credential!: Credential;

  @Field(() => CredentialCheckResult)
  result!: CredentialCheckResult;

  @Field({ description: 'The result in words, safe to show.' })
  message!: string;
}
