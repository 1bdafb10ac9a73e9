import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { keyUnavailable } from '../common/errors';
import { runSql } from '../db/sql';
import type { DataKeyCache } from './data-key-cache';
import { KeyringError, type KeyringKind, type WrappedDataKey } from './keyring/keyring';
import type { Keyrings } from './keyring/keyrings';

/** MACs of audit chain content under the chains' keys (hex HMAC-SHA-256). */
export interface ChainMacs {
  mac(chain: string, message: string): string;
}

/** How verification finds a chain's key, read and unwrapped afresh. */
export type ChainKeyInfo =
  { kind: 'keyed'; keyedFromSeq: number; keyedFromAuthentic: boolean } | { kind: 'none' } | { kind: 'rejected' };

interface AuditKeyRow {
  chain: string;
  keyring: KeyringKind;
  master_key_id: string;
  wrapped_key: Buffer;
  keyed_from_seq: number;
  keyed_from_mac: string;
}

/** The cache is shared with no one; every chain has one key, kept under this version. */
const KEY_VERSION = 0;

const hmacHex = (key: Buffer, message: string): string =>
  createHmac('sha256', key).update(message, 'utf8').digest('hex');

/** Binds the keyed boundary of a chain to its key (domain-separated from event MACs). */
const keyedFromMessage = (chain: string, keyedFromSeq: number): string =>
  JSON.stringify(['keyward-audit-keyed-from', chain, keyedFromSeq]);

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Audit chain MAC keys: one random 256-bit key per chain, generated and wrapped by the keyring
 * like a data key but with purpose `audit-key` and the chain name bound into the wrap, cached
 * like data keys, and lent only to synchronous callbacks. Nothing outside the vault sees them:
 * callers get MACs and MAC checks. Keys are never destroyed (a deleted tenant's trail must stay
 * verifiable) and are separate from the tenant's data keys, which deleteTenant shreds.
 */
export class AuditKeyService {
  constructor(
    private readonly keyrings: Keyrings,
    private readonly cache: DataKeyCache,
    private readonly log: Logger,
  ) {}

  /** Loads the existing keys of `chains` into the cache (before any lock is taken); creates none. */
  async prefetch(em: EntityManager, chains: readonly string[]): Promise<void> {
    const missing = chains.filter((chain) => !this.cache.use(chain, KEY_VERSION, () => true));
    if (missing.length === 0) return;
    for (const row of await this.rows(em, missing)) this.cache.put(row.chain, KEY_VERSION, await this.unwrap(row));
  }

  /** Runs `use` with MACs under the cached keys of `chains`; undefined if one is not cached (nothing is read or created). */
  withCachedKeys<T>(chains: readonly string[], use: (macs: ChainMacs) => T): { value: T } | undefined {
    return this.lendAll(chains, new Map(), (keys) => use(macsOf(keys)));
  }

  /**
   * Runs `use` with MACs under the keys of the chains whose heads the caller's transaction holds
   * locked. A chain without a key gets one now, keyed from the seq after its head; `use` learns
   * which (chain → keyedFromSeq). A key created here is not cached: it exists only if the
   * caller's transaction commits.
   */
  async withChainKeys<T>(
    tx: EntityManager,
    heads: ReadonlyArray<{ chain: string; seq: number }>,
    use: (macs: ChainMacs, created: ReadonlyMap<string, number>) => T,
  ): Promise<T> {
    const owned = new Map<string, Buffer>();
    const created = new Map<string, number>();
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const chains = heads.map((head) => head.chain);
        const lent = this.lendAll(chains, owned, (keys) => use(macsOf(keys), created));
        if (lent) return lent.value;
        const uncached = chains.filter((chain) => !owned.has(chain) && !this.cache.use(chain, KEY_VERSION, () => true));
        const found = new Map((await this.rows(tx, uncached)).map((row) => [row.chain, row]));
        for (const head of heads) {
          if (!uncached.includes(head.chain)) continue;
          const row = found.get(head.chain);
          if (row) this.cache.put(row.chain, KEY_VERSION, await this.unwrap(row));
          else await this.create(tx, head.chain, head.seq + 1, owned, created);
        }
      }
      throw keyUnavailable('The audit key could not be kept in memory');
    } finally {
      for (const key of owned.values()) key.fill(0);
    }
  }

  /**
   * The chain's key as stored now (read in `em`'s snapshot, unwrapped afresh, so a wrapped key
   * that no longer authenticates is `rejected` even while a copy is cached), with a check of its
   * keyed boundary. Creates none; leaves the key cached for `withMacCheck`.
   */
  async inspect(em: EntityManager, chain: string): Promise<ChainKeyInfo> {
    const [row] = await this.rows(em, [chain]);
    if (!row) return { kind: 'none' };
    let key: Buffer;
    try {
      key = await this.unwrap(row, { rejectedAsNull: true });
    } catch (error) {
      if (error instanceof RejectedKey) return { kind: 'rejected' };
      throw error;
    }
    const keyedFromAuthentic = sameHex(hmacHex(key, keyedFromMessage(chain, row.keyed_from_seq)), row.keyed_from_mac);
    this.cache.put(chain, KEY_VERSION, key);
    return { kind: 'keyed', keyedFromSeq: row.keyed_from_seq, keyedFromAuthentic };
  }

  /** Lends `use` a constant-time check of hex MACs under the chain's key. Creates none. */
  async withMacCheck<T>(
    em: EntityManager,
    chain: string,
    use: (matches: (message: string, hexMac: string) => boolean) => T,
  ): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const hit = this.cache.use(chain, KEY_VERSION, (key) =>
        use((message, hexMac) => sameHex(hmacHex(key, message), hexMac)),
      );
      if (hit) return hit.value;
      await this.prefetch(em, [chain]);
    }
    throw keyUnavailable('The audit key cannot be used right now');
  }

  /** Chains whose key is not under the current keyring and master key. */
  async staleChains(em: EntityManager): Promise<string[]> {
    const current = this.keyrings.current;
    const rows = await runSql<{ chain: string }>(
      em,
      'select chain from audit_keys where keyring <> ? or master_key_id <> ? order by created_at, chain',
      [current.kind, current.masterKeyId],
    );
    return rows.map((row) => row.chain);
  }

  /** Re-wraps one chain's key under the current keyring (the key itself does not change). */
  async rewrap(em: EntityManager, chain: string): Promise<void> {
    const [row] = await this.rows(em, [chain]);
    if (!row) return;
    const current = this.keyrings.current;
    const from: WrappedDataKey = { wrapped: row.wrapped_key, masterKeyId: row.master_key_id };
    let rewrapped: WrappedDataKey;
    if (row.keyring === current.kind) {
      rewrapped = await this.guard(chain, 'rewrap', () => current.rewrapDataKey(chain, from, 'audit-key'));
    } else {
      const plaintext = await this.unwrap(row);
      try {
        rewrapped = await this.guard(chain, 'wrap', () => current.wrapDataKey(chain, plaintext, 'audit-key'));
      } finally {
        plaintext.fill(0);
      }
    }
    await runSql(
      em,
      'update audit_keys set keyring = ?, master_key_id = ?, wrapped_key = ?, rewrapped_at = ? where chain = ? and master_key_id = ?',
      [current.kind, rewrapped.masterKeyId, rewrapped.wrapped, new Date(), chain, row.master_key_id],
    );
  }

  private async create(
    tx: EntityManager,
    chain: string,
    keyedFromSeq: number,
    owned: Map<string, Buffer>,
    created: Map<string, number>,
  ): Promise<void> {
    const keyring = this.keyrings.current;
    const generated = await this.guard(chain, 'generate', () => keyring.generateDataKey(chain, 'audit-key'));
    const inserted = await runSql(
      tx,
      `insert into audit_keys (chain, keyring, master_key_id, wrapped_key, keyed_from_seq, keyed_from_mac, created_at)
       values (?, ?, ?, ?, ?, ?, ?) on conflict (chain) do nothing returning chain`,
      [
        chain,
        keyring.kind,
        generated.masterKeyId,
        generated.wrapped,
        keyedFromSeq,
        hmacHex(generated.plaintext, keyedFromMessage(chain, keyedFromSeq)),
        new Date(),
      ],
    );
    if (inserted.length === 1) {
      owned.set(chain, generated.plaintext);
      created.set(chain, keyedFromSeq);
      if (keyedFromSeq > 1) {
        this.log.warn(
          { chain, keyedFromSeq },
          'audit chain had no audit key: keyed from now on; earlier events are only SHA-256 chained',
        );
      }
      return;
    }
    generated.plaintext.fill(0);
    // Another writer created it first (it held the head lock before us): use theirs.
    const [row] = await this.rows(tx, [chain]);
    if (!row) throw keyUnavailable('The audit key could not be created');
    owned.set(chain, await this.unwrap(row));
  }

  /** Nests the cache's synchronous loans so that `use` sees every chain's key at once. */
  private lendAll<T>(
    chains: readonly string[],
    owned: ReadonlyMap<string, Buffer>,
    use: (keys: Map<string, Buffer>) => T,
  ): { value: T } | undefined {
    const keys = new Map(owned);
    const step = (index: number): { value: T } | undefined => {
      if (index === chains.length) return { value: use(keys) };
      const chain = chains[index];
      if (keys.has(chain)) return step(index + 1);
      let inner: { value: T } | undefined;
      const hit = this.cache.use(chain, KEY_VERSION, (key) => {
        keys.set(chain, key);
        try {
          inner = step(index + 1);
        } finally {
          keys.delete(chain);
        }
      });
      return hit ? inner : undefined;
    };
    return step(0);
  }

  private rows(em: EntityManager, chains: readonly string[]): Promise<AuditKeyRow[]> {
    if (chains.length === 0) return Promise.resolve([]);
    return runSql<AuditKeyRow>(
      em,
      'select chain, keyring, master_key_id, wrapped_key, keyed_from_seq, keyed_from_mac from audit_keys where chain = any(?::text[])',
      [chains],
    );
  }

  private async unwrap(row: AuditKeyRow, { rejectedAsNull = false } = {}): Promise<Buffer> {
    const wrapped: WrappedDataKey = { wrapped: row.wrapped_key, masterKeyId: row.master_key_id };
    try {
      return await this.keyrings.forKind(row.keyring).unwrapDataKey(row.chain, wrapped, 'audit-key');
    } catch (error) {
      if (error instanceof KeyringError) {
        this.log.error(
          { chain: row.chain, operation: 'unwrap', reason: error.reason, err: error.message },
          'keyring call failed (audit key)',
        );
        if (rejectedAsNull && error.reason === 'rejected') throw new RejectedKey();
        throw keyUnavailable('The audit key cannot be used right now');
      }
      throw error;
    }
  }

  private async guard<T>(chain: string, operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof KeyringError) {
        this.log.error(
          { chain, operation, reason: error.reason, err: error.message },
          'keyring call failed (audit key)',
        );
        throw keyUnavailable('The audit key cannot be used right now');
      }
      throw error;
    }
  }
}

class RejectedKey extends Error {}

function macsOf(keys: ReadonlyMap<string, Buffer>): ChainMacs {
  return {
    mac: (chain, message) => {
      const key = keys.get(chain);
      if (!key) throw new Error(`no audit key lent for chain ${chain}`);
      return hmacHex(key, message);
    },
  };
}
