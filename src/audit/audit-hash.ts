import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface HashedContent {
  chain: string;
  seq: number;
  at: Date;
  tenantId: string | null;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  requestId: string | null;
  ip: string | null;
  detail: string | null;
}

/**
 * hash = hex SHA-256( prevHash || "\n" || canonical JSON of the content ). The JSON is an array
 * in a fixed field order, so the encoding is unambiguous and independent of key order.
 */
export function auditHash(prevHash: string, content: HashedContent): string {
  const canonical = JSON.stringify([
    content.chain,
    content.seq,
    content.at.toISOString(),
    content.tenantId,
    content.actorId,
    content.action,
    content.targetType,
    content.targetId,
    content.outcome,
    content.requestId,
    content.ip,
    content.detail,
  ]);
  return createHash('sha256').update(prevHash).update('\n').update(canonical).digest('hex');
}
