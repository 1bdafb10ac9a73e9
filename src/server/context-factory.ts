import type { MikroORM } from '@mikro-orm/postgresql';
import type { Authenticator } from '../auth/authenticator';
import { isKeywardError } from '../common/errors';
import type { ChatStarter, RequestContext } from '../auth/request-context';

export interface ConnectionFacts {
  authorization: unknown;
  ip: string | null;
  requestId: string;
}

/** Builds the per-operation context for both transports through the same authentication path. */
export class ContextFactory {
  constructor(
    private readonly orm: MikroORM,
    private readonly authenticator: Authenticator,
    private readonly chat: ChatStarter,
  ) {}

  /**
   * A WebSocket's credentials, checked once at connection_init (every operation checks them again):
   * `none` when none were sent, `invalid` when they were refused (and audited like any refusal).
   */
  async checkConnection({ authorization, ip, requestId }: ConnectionFacts): Promise<'none' | 'valid' | 'invalid'> {
    try {
      const principal = await this.authenticator.authenticate(this.orm.em.fork(), authorization, { requestId, ip });
      return principal ? 'valid' : 'none';
    } catch (error) {
      if (!isKeywardError(error)) throw error;
      return 'invalid';
    }
  }

  async create({ authorization, ip, requestId }: ConnectionFacts): Promise<RequestContext> {
    const em = this.orm.em.fork();
    try {
      const principal = await this.authenticator.authenticate(em, authorization, { requestId, ip });
      return { requestId, ip, em, principal, authError: null, chat: this.chat };
    } catch (error) {
      if (!isKeywardError(error)) throw error;
      return { requestId, ip, em, principal: null, authError: error, chat: this.chat };
    }
  }
}
