import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'kw_';
const TOKEN_SHAPE = /^kw_[A-Za-z0-9_-]{20,200}$/;

/** 256 random bits, URL-safe, prefixed so leaked tokens are easy to recognise and scan for. */
export const generateBearerToken = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');

export const hashBearerToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

export const looksLikeBearerToken = (token: string): boolean => TOKEN_SHAPE.test(token);

export type ParsedAuthorization = { kind: 'none' } | { kind: 'malformed' } | { kind: 'bearer'; token: string };

export function parseAuthorization(header: unknown): ParsedAuthorization {
  if (header === undefined || header === null || header === '') return { kind: 'none' };
  if (typeof header !== 'string') return { kind: 'malformed' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match || !looksLikeBearerToken(match[1])) return { kind: 'malformed' };
  return { kind: 'bearer', token: match[1] };
}
