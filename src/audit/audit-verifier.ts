import { IsolationLevel } from '@mikro-orm/core';
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
  // One snapshot for the events and the head: otherwise an append committed between the last
  // batch and the head read makes a sound chain look truncated (head ahead of the events).
  return em.transactional((tx) => walkChain(tx, chain), { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true });
}

async function walkChain(em: EntityManager, chain: string): Promise<VerificationResult> {
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
  // Every append writes its event and the head in one transaction, so events without a head
  // mean the head was removed (which would hide events deleted from the end).
  if (!head) return checked === 0 ? { ok: true, checked, firstBrokenSeq: null } : { ok: false, checked, firstBrokenSeq: checked + 1 };
  if (head.seq === checked && head.hash === prevHash) return { ok: true, checked, firstBrokenSeq: null };
  // Fewer events than the head recorded: the first missing one. More: the first one the head never
  // recorded. As many, but another last hash: the last event is not the one that was appended.
  const firstBrokenSeq = head.seq > checked ? checked + 1 : head.seq < checked ? head.seq + 1 : checked;
  return { ok: false, checked: firstBrokenSeq - 1, firstBrokenSeq };
}
