import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditChainHeadEntity } from './audit-chain-head.entity';
import { AuditEventEntity } from './audit-event.entity';
import { auditHash, GENESIS_HASH } from './audit-hash';

export interface VerificationResult {
  ok: boolean;
  checked: number;
  firstBrokenSeq: number | null;
}

const BATCH = 1000;

/**
 * Walks a chain from seq 1: every seq present once and in order, every prevHash equal to the
 * previous hash, every hash recomputed from the stored content, and the chain head matching
 * the last event (so events deleted from the end are caught too).
 */
export async function verifyChain(em: EntityManager, chain: string): Promise<VerificationResult> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  for (;;) {
    const events = await em.find(
      AuditEventEntity,
      { chain, seq: { $gte: expectedSeq } },
      { orderBy: { seq: 'asc' }, limit: BATCH },
    );
    for (const event of events) {
      const broken = event.seq !== expectedSeq || event.prevHash !== prevHash || auditHash(prevHash, event) !== event.hash;
      if (broken) return { ok: false, checked, firstBrokenSeq: expectedSeq };
      prevHash = event.hash;
      expectedSeq++;
      checked++;
    }
    em.clear();
    if (events.length < BATCH) break;
  }
  const head = await em.findOne(AuditChainHeadEntity, { chain });
  if (head && (head.seq !== checked || head.hash !== prevHash)) {
    return { ok: false, checked, firstBrokenSeq: checked + 1 };
  }
  return { ok: true, checked, firstBrokenSeq: null };
}
