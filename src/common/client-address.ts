import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * Which proxies may set X-Forwarded-For, in Express's `trust proxy` terms: none (false), every
 * hop (true), the nearest n hops, or addresses, CIDR ranges and the names loopback, linklocal,
 * uniquelocal.
 */
export type TrustProxySetting = boolean | number | string[];

/** Whether the hop at `address`, `hop` steps from the socket, is a trusted proxy. */
export type TrustProxy = (address: string, hop: number) => boolean;

/** Parses KEYWARD_TRUST_PROXY; throws a TypeError naming a bad address or range. */
export function parseTrustProxy(value: string): TrustProxySetting {
  const trimmed = value.trim();
  if (trimmed === 'false') return false;
  if (trimmed === 'true') return true;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const list = trimmed.split(',').map((item) => item.trim());
  proxyaddr.compile(list);
  return list;
}

export function compileTrustProxy(setting: TrustProxySetting): TrustProxy {
  if (typeof setting === 'boolean') return () => setting;
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return proxyaddr.compile(setting);
}

/**
 * The client's address as Express computes `req.ip` with the same trust function, for requests
 * Express never sees (WebSocket upgrades): X-Forwarded-For counts only through trusted proxies.
 */
export const clientAddress = (request: IncomingMessage, trust: TrustProxy): string | null =>
  request.socket.remoteAddress === undefined ? null : proxyaddr(request, trust);
