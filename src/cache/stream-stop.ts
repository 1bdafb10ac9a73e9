/**
 * Why open chat streams must end at once, carried with a cache invalidation to every gateway
 * process (see CacheInvalidation). Each reason is also the `ChatFailed.code` the streams end with.
 */
export type StreamStopReason = 'TENANT_DELETED' | 'CREDENTIAL_DELETED' | 'TOKEN_REVOKED';

export interface StreamStop {
  reason: StreamStopReason;
  /** CREDENTIAL_DELETED: streams using this credential. */
  credentialId?: string;
  /** TOKEN_REVOKED: streams opened with this token. */
  tokenId?: string;
}

const REASONS: ReadonlySet<string> = new Set<StreamStopReason>([
  'TENANT_DELETED',
  'CREDENTIAL_DELETED',
  'TOKEN_REVOKED',
]);
const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 64;

/** A stop as received from another process; anything malformed is dropped. */
export function parseStreamStop(value: unknown): StreamStop | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { reason, credentialId, tokenId } = value as Record<string, unknown>;
  if (typeof reason !== 'string' || !REASONS.has(reason)) return undefined;
  const stop: StreamStop = { reason: reason as StreamStopReason };
  if (reason === 'CREDENTIAL_DELETED') {
    if (!isId(credentialId)) return undefined;
    stop.credentialId = credentialId;
  }
  if (reason === 'TOKEN_REVOKED') {
    if (!isId(tokenId)) return undefined;
    stop.tokenId = tokenId;
  }
  return stop;
}
