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
 * The JSON array of the content in a fixed field order, so the encoding is unambiguous and
 * independent of key order. It includes the chain and the seq.
 */
function canonical(content: HashedContent): string {
  return JSON.stringify([
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
}

/**
 * Version 1, events written before their chain was keyed:
 * hash = hex SHA-256( prevHash || "\n" || canonical JSON ). Anyone can recompute it.
 */
export function auditHash(prevHash: string, content: HashedContent): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonical(content)).digest('hex');
}

/**
 * Version 2, every event from its chain's keyedFromSeq on: hash = hex HMAC-SHA-256 under the
 * chain's audit key of this message. The prefix separates it from any other MAC under that key.
 */
export function auditMacMessage(prevHash: string, content: HashedContent): string {
  return `keyward-audit-event-v2\n${prevHash}\n${canonical(content)}`;
}
