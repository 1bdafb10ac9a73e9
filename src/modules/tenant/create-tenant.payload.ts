import { Field, ObjectType } from 'type-graphql';
import { User } from '../user/user.type';
import { Tenant } from './tenant.type';

@ObjectType()
export class CreateTenantPayload {
  @Field(() => Tenant)
  tenant!: Tenant;

  @Field(() => User)
  admin!: User;

  @Field({ description: 'A bearer token for the new tenant admin, shown once.' })
  token!: string;
}
