import { TenantEntity } from '../modules/tenant/tenant.entity';
import { UserEntity } from '../modules/user/user.entity';
import { ApiTokenEntity } from '../modules/token/api-token.entity';
import { DataKeyEntity } from '../vault/data-key.entity';
import { CredentialEntity } from '../modules/credential/credential.entity';

/** Every entity MikroORM manages; migrations/ must build exactly their schema. */
export const entities = [TenantEntity, UserEntity, ApiTokenEntity, DataKeyEntity, CredentialEntity];
