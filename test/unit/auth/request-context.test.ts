import type { EntityManager } from '@mikro-orm/postgresql';
import type { Principal } from '../../../src/auth/principal';
import { callerOf, type RequestContext } from '../../../src/auth/request-context';
import { forbidden, isKeywardError } from '../../../src/common/errors';

const em = {} as EntityManager;
const principal = { tenantId: 't', userId: 'u' } as Principal;
const context = (over: Partial<RequestContext>): RequestContext => ({
  requestId: 'req-1',
  ip: '203.0.113.7',
  principal: null,
  authError: null,
  em,
  chat: { start: () => Promise.reject(new Error('not here')) },
  ...over,
});

describe('callerOf', () => {
  test('an authenticated context gives the plain caller: nothing of the transport', () => {
    expect(callerOf(context({ principal }))).toEqual({ em, principal, requestId: 'req-1', ip: '203.0.113.7' });
  });

  test("the caller reads the context's em only when a service uses it (a warm chat never forks one)", () => {
    let reads = 0;
    const lazy = {
      ...context({ principal }),
      get em() {
        reads += 1;
        return em;
      },
    };
    const caller = callerOf(lazy);
    expect(reads).toBe(0);
    expect(caller.em).toBe(em);
    expect(reads).toBe(1);
  });

  test('credentials that were refused raise their own error, even beside a principal', () => {
    const refused = forbidden('refused');
    expect(() => callerOf(context({ authError: refused }))).toThrow(refused);
    expect(() => callerOf(context({ authError: refused, principal }))).toThrow(refused);
  });

  test('no credentials at all is UNAUTHENTICATED', () => {
    let thrown: unknown;
    try {
      callerOf(context({}));
    } catch (error) {
      thrown = error;
    }
    expect(isKeywardError(thrown) && thrown.code).toBe('UNAUTHENTICATED');
  });
});
