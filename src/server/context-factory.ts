import type { MikroORM } from '@mikro-orm/postgresql';
import type { Authenticator } from '../auth/authenticator';
import { isKeywardError } from '../common/errors';
import { ForkOnUse } from '../db/fork-on-use';
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
      const principal = await this.authenticator.authenticate(new ForkOnUse(this.orm.em), authorization, {
        requestId,
        ip,
      });
      return principal ? 'valid' : 'none';
    } catch (error) {
      if (!isKeywardError(error)) throw error;
      return 'invalid';
    }
  }

  async create({ authorization, ip, requestId }: ConnectionFacts): Promise<RequestContext> {
    const scope = new ForkOnUse(this.orm.em);
    const context = (principal: RequestContext['principal'], authError: RequestContext['authError']) => ({
      requestId,
      ip,
      get em() {
        return scope.em;
      },
      principal,
      authError,
      chat: this.chat,
    });
    try {
      return context(await this.authenticator.authenticate(scope, authorization, { requestId, ip }), null);
    } catch (error) {
      if (!isKeywardError(error)) throw error;
      return context(null, error);
    }
  }
}
