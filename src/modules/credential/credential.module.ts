import type { GatewayModule } from '../../common/gateway-module';
import { CredentialEntity } from './credential.entity';
import { CredentialResolver } from './credential.resolver';
import type { CredentialService } from './credential.service';

export const credentialModule: GatewayModule<{ credentials: CredentialService }> = {
  name: 'credential',
  entities: [CredentialEntity],
  resolvers: [CredentialResolver],
  createResolvers: ({ credentials }) => [new CredentialResolver(credentials)],
};
