import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditKeyService } from '../vault/audit-key.service';
import { AuditChainHeadEntity } from './audit-chain-head.entity';
import { AuditEventEntity } from './audit-event.entity';
import { auditHash, auditMacMessage, GENESIS_HASH } from './audit-hash';

/** A head the operator kept outside the database (from `auditHead` / `keyward audit head`). */
export interface ExpectedHead {
  seq: number;
  hash: string;
}

export interface VerificationResult {
  ok: boolean;
  checked: number;
  firstBrokenSeq: number | null;
  /** First seq MACed under the chain's audit key; null when the chain has no key. */
  keyedFromSeq: number | null;
  /** Events before keyedFromSeq, checked only as a plain SHA-256 chain (anyone can recompute those). */
  unkeyedEvents: number;
  /** Why the chain is not ok, in words; null when it is. */
  problem: string | null;
}

const BATCH = 1000;

/**
 * Walks a chain from seq 1: every seq present once and in order, every prevHash equal to the
 * previous hash, every hash recomputed from the stored content (an HMAC under the chain's audit
 * key from its keyedFromSeq on, plain SHA-256 before), and the chain head matching the last
 * event. With `expected` (a head kept outside the database), the chain must still hold that
 * event: this is what catches events removed from the end together with the head.
 */
export async function verifyChain(
  em: EntityManager,
  keys: AuditKeyService,
  chain: string,
  expected?: ExpectedHead | null,
): Promise<VerificationResult> {
  // One snapshot for the events, the head and the key: otherwise an append committed between the
  // last batch and the head read makes a sound chain look truncated (head ahead of the events).
  return em.transactional((tx) => walkChain(tx, keys, chain, expected ?? null), {
    isolationLevel: IsolationLevel.REPEATABLE_READ,
    readOnly: true,
  });
}

async function walkChain(
  em: EntityManager,
  keys: AuditKeyService,
  chain: string,
  expected: ExpectedHead | null,
): Promise<VerificationResult> {
  const key = await keys.inspect(em, chain);
  const keyedFromSeq = key.kind === 'keyed' ? key.keyedFromSeq : null;
  const result = (
    ok: boolean,
    checked: number,
    firstBrokenSeq: number | null,
    problem: string | null,
  ): VerificationResult => ({
    ok,
    checked,
    firstBrokenSeq,
    keyedFromSeq,
    unkeyedEvents: Math.min(checked, (keyedFromSeq ?? Number.MAX_SAFE_INTEGER) - 1),
    problem,
  });
  if (key.kind === 'rejected')
    return result(false, 0, 1, "the keyring refused the chain's audit key (altered, or moved from another chain)");
  if (key.kind === 'keyed' && !key.keyedFromAuthentic)
    return result(false, 0, 1, "the chain's keyed boundary was altered");
  const keyedFrom = keyedFromSeq ?? Number.MAX_SAFE_INTEGER;

  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  const atExpected: { hash: string | null } = { hash: null };
  for (;;) {
    const events = await em.find(
      AuditEventEntity,
      { chain, seq: { $gte: expectedSeq } },
      { orderBy: { seq: 'asc' }, limit: BATCH },
    );
    const walk = (matches: ((message: string, hexMac: string) => boolean) | null): boolean => {
      for (const event of events) {
        if (event.seq !== expectedSeq || event.prevHash !== prevHash) return false;
        const authentic =
          event.seq < keyedFrom
            ? auditHash(prevHash, event) === event.hash
            : matches!(auditMacMessage(prevHash, event), event.hash);
        if (!authentic) return false;
        if (expected && event.seq === expected.seq) atExpected.hash = event.hash;
        prevHash = event.hash;
        expectedSeq++;
        checked++;
      }
      return true;
    };
    const needsKey = events.some((event) => event.seq >= keyedFrom);
    const intact = needsKey ? await keys.withMacCheck(em, chain, walk) : walk(null);
    em.clear();
    if (!intact) {
      const noKey = key.kind === 'none' ? 'the chain has no audit key, and ' : '';
      return result(false, checked, expectedSeq, `${noKey}event ${expectedSeq} is missing, out of place or altered`);
    }
    if (events.length < BATCH) break;
  }

  if (checked > 0 && key.kind === 'none') {
    return result(
      false,
      checked,
      1,
      'the chain has no audit key: its events are only SHA-256 chained (a gateway start keys every chain)',
    );
  }
  const head = await em.findOne(AuditChainHeadEntity, { chain });
  // Every append writes its event and the head in one transaction, so events without a head
  // mean the head was removed (which would hide events deleted from the end).
  if (!head) {
    if (checked > 0) return result(false, checked, checked + 1, 'the chain head is missing');
  } else if (head.seq !== checked || head.hash !== prevHash) {
    // Fewer events than the head recorded: the first missing one. More: the first one the head never
    // recorded. As many, but another last hash: the last event is not the one that was appended.
    const firstBrokenSeq = head.seq > checked ? checked + 1 : head.seq < checked ? head.seq + 1 : checked;
    return result(false, firstBrokenSeq - 1, firstBrokenSeq, 'the chain head does not match its last event');
  }
  if (expected) {
    if (expected.seq > checked) {
      return result(
        false,
        checked,
        checked + 1,
        `the chain ends before the expected head (seq ${expected.seq}): events were removed from its end`,
      );
    }
    if (atExpected.hash !== expected.hash) {
      return result(false, expected.seq - 1, expected.seq, `event ${expected.seq} is not the one of the expected head`);
    }
  }
  return result(true, checked, null, null);
}

export interface ChainHead {
  chain: string;
  seq: number;
  hash: string;
  keyedFromSeq: number | null;
}

/** The chain's newest event as its head records it (seq 0 and the genesis hash for an empty chain). */
export async function readChainHead(em: EntityManager, chain: string): Promise<ChainHead> {
  const [row] = await em
    .getConnection()
    .execute<Array<{ seq: number | null; hash: string | null; keyed_from_seq: number | null }>>(
      `select head.seq, head.hash, (select keyed_from_seq from audit_keys where chain = ?) as keyed_from_seq
     from (select 1) as one left join audit_chain_heads head on head.chain = ?`,
      [chain, chain],
    );
  return {
    chain,
    seq: row?.seq === null || row?.seq === undefined ? 0 : Number(row.seq),
    hash: row?.hash ?? GENESIS_HASH,
    keyedFromSeq: row?.keyed_from_seq === null || row?.keyed_from_seq === undefined ? null : Number(row.keyed_from_seq),
  };
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/** An expected head as given by an operator, or a message saying what is wrong with it. */
export function parseExpectedHead(seq: unknown, hash: unknown): ExpectedHead | string {
  if (!Number.isInteger(seq) || (seq as number) < 1) return 'the expected head seq must be a positive integer';
  if (typeof hash !== 'string' || !HEX_HASH.test(hash)) return 'the expected head hash must be 64 lowercase hex digits';
  return { seq: seq as number, hash };
}
