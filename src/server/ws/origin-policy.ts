import type { IncomingMessage } from 'node:http';
import type { Logger } from '../../common/logger';

/** Undefined list: any origin. Otherwise a missing Origin passes and a present one must be listed. */
export function originPolicy(allowedOrigins: readonly string[] | undefined): (origin: string | undefined) => boolean {
  if (!allowedOrigins) return () => true;
  const allowed = new Set(allowedOrigins);
  return (origin) => {
    if (origin === undefined) return true;
    try {
      return allowed.has(new URL(origin).origin);
    } catch {
      return false; // "null" (sandboxed frames, file://) or garbage
    }
  };
}

type VerifyClient = (
  info: { req: IncomingMessage },
  done: (allowed: boolean, code?: number, message?: string) => void,
) => void;

/** ws's `verifyClient`: an upgrade from an origin the policy refuses gets 403 before the handshake. */
export function verifyOrigin(allowedOrigins: readonly string[] | undefined, log: Logger): VerifyClient {
  const originAllowed = originPolicy(allowedOrigins);
  return ({ req }, done) => {
    if (originAllowed(req.headers.origin)) return done(true);
    log.warn({ origin: String(req.headers.origin).slice(0, 200) }, 'WebSocket upgrade refused: origin not allowed');
    done(false, 403, 'Forbidden');
  };
}
