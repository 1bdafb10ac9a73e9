import { createHmac, randomUUID } from 'node:crypto';
import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { auditHash, auditMacMessage, GENESIS_HASH, type HashedContent } from '../../src/audit/audit-hash';
import { LocalKeyring } from '../../src/vault/keyring/local.keyring';
import { ensureCliBuilt, jsonLines, runKeyward } from '../support/audit-cli';
import { allAuditEvents, storedEvents, type StoredEvent } from '../support/audit-helpers';
import { DELETE_TENANT } from '../support/documents';
import { errorCode, ok, post } from '../support/graphql-client';
import { withPg } from '../support/sql';
import { createTenantWithAdmin, type TenantFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { testMasterKey } from '../support/vault-fixtures';

/**
 * The audit chain is keyed: every event's hash is an HMAC-SHA-256 under its chain's audit key,
 * which is stored only wrapped by the keyring. Someone with write access to the database but
 * without the keyring cannot delete an event and rebuild the chain (the attack of issue 11), and
 * with a head kept outside the database, events removed from the end are found too.
 */

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
  await ensureCliBuilt();
}, 240_000);

afterAll(() => gw?.stop());

interface Verification {
  ok: boolean;
  checked: number;
  firstBrokenSeq: number | null;
  keyedFromSeq: number | null;
  unkeyedEvents: number;
  problem: string | null;
}

interface Head {
  chain: string;
  seq: number;
  hash: string;
  keyedFromSeq: number | null;
}

const VERIFY = /* GraphQL */ `
  query ($tenantId: ID, $expectHead: ExpectedAuditHead) {
    verifyAuditLog(tenantId: $tenantId, expectHead: $expectHead) {
      ok
      checked
      firstBrokenSeq
      keyedFromSeq
      unkeyedEvents
      problem
    }
  }
`;
const HEAD = /* GraphQL */ `
  query ($tenantId: ID) {
    auditHead(tenantId: $tenantId) {
      chain
      seq
      hash
      keyedFromSeq
    }
  }
`;

const verify = async (token: string, variables: Record<string, unknown> = {}): Promise<Verification> =>
  ((await ok(gw, token, VERIFY, variables)) as { verifyAuditLog: Verification }).verifyAuditLog;
const auditHead = async (token: string, tenantId?: string): Promise<Head> =>
  ((await ok(gw, token, HEAD, { tenantId })) as { auditHead: Head }).auditHead;

const sql = <R extends Record<string, any> = Record<string, any>>(text: string, params: unknown[] = []): Promise<R[]> =>
  withPg(async (pg) => (await pg.query<R>(text, params)).rows);

const contentOf = (row: StoredEvent): HashedContent => ({
  chain: row.chain,
  seq: row.seq,
  at: row.at,
  tenantId: row.tenant_id,
  actorId: row.actor_id,
  action: row.action,
  targetType: row.target_type,
  targetId: row.target_id,
  outcome: row.outcome,
  requestId: row.request_id,
  ip: row.ip,
  detail: row.detail,
});

async function tenantWithEvents(n: number): Promise<TenantFixture> {
  const tenant = await createTenantWithAdmin(gw, 'keyed-chain');
  for (let i = 2; i <= n; i++) {
    await gw.gateway.services.audit.append({
      tenantId: tenant.tenantId,
      action: 'test.event',
      outcome: AuditOutcome.SUCCESS,
      detail: { i },
    });
  }
  expect(await verify(tenant.adminToken)).toMatchObject({ ok: true, checked: n, keyedFromSeq: 1, unkeyedEvents: 0 });
  return tenant;
}

/**
 * What an attacker with database write access does (issue 11): delete one event, renumber the
 * rest, recompute every hash after it with the published plain SHA-256 formula, and move the head.
 * Returns the rebuilt chain, which is internally consistent as a plain SHA-256 chain.
 */
async function deleteRenumberAndRehash(chain: string, deletedSeq: number): Promise<StoredEvent[]> {
  const before = await storedEvents(chain);
  const kept = before.filter((row) => row.seq !== deletedSeq);
  let prevHash = deletedSeq === 1 ? GENESIS_HASH : before[deletedSeq - 2].hash;
  const rebuilt: StoredEvent[] = [];
  for (const [index, row] of kept.entries()) {
    if (row.seq < deletedSeq) {
      rebuilt.push(row);
      continue;
    }
    const forged = { ...row, seq: index + 1, prev_hash: prevHash };
    forged.hash = auditHash(prevHash, contentOf(forged));
    rebuilt.push(forged);
    prevHash = forged.hash;
  }
  await withPg(async (pg) => {
    await pg.query('begin');
    await pg.query('delete from audit_events where chain = $1 and seq >= $2', [chain, deletedSeq]);
    for (const row of rebuilt.filter((event) => event.seq >= deletedSeq)) {
      await pg.query(
        `insert into audit_events (id, chain, seq, at, tenant_id, actor_id, action, target_type, target_id, outcome, request_id, ip, detail, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [
          row.id,
          row.chain,
          row.seq,
          row.at,
          row.tenant_id,
          row.actor_id,
          row.action,
          row.target_type,
          row.target_id,
          row.outcome,
          row.request_id,
          row.ip,
          row.detail,
          row.prev_hash,
          row.hash,
        ],
      );
    }
    await pg.query('update audit_chain_heads set seq = $2, hash = $3 where chain = $1', [
      chain,
      rebuilt.length,
      prevHash,
    ]);
    await pg.query('commit');
  });
  return rebuilt;
}

describe('rewriting the chain needs the keyring', () => {
  test('delete an event, renumber, recompute plain SHA-256 and move the head: verifyAuditLog and `audit verify` both fail', async () => {
    const tenant = await tenantWithEvents(6);
    const rebuilt = await deleteRenumberAndRehash(tenant.tenantId, 3);
    // The forgery is a sound plain SHA-256 chain, as the unkeyed chain used to accept.
    expect(rebuilt.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 2; i < rebuilt.length; i++)
      expect(rebuilt[i].hash).toBe(auditHash(rebuilt[i - 1].hash, contentOf(rebuilt[i])));

    expect(await verify(tenant.adminToken)).toEqual({
      ok: false,
      checked: 2,
      firstBrokenSeq: 3,
      keyedFromSeq: 1,
      unkeyedEvents: 0,
      problem: expect.stringMatching(/event 3/),
    });
    const cli = await runKeyward(['audit', 'verify', '--tenant', tenant.tenantId]);
    expect(cli.code).toBe(1);
    expect(jsonLines(cli.stdout)).toEqual([
      expect.objectContaining({ chain: tenant.tenantId, ok: false, checked: 2, firstBrokenSeq: 3 }),
    ]);
  }, 120_000);

  test("moving the chain's keyed boundary, or swapping in another chain's key, is found", async () => {
    const tenant = await tenantWithEvents(3);
    const other = await tenantWithEvents(2);
    await sql('update audit_keys set keyed_from_seq = 3 where chain = $1', [tenant.tenantId]);
    expect(await verify(tenant.adminToken)).toMatchObject({
      ok: false,
      firstBrokenSeq: 1,
      problem: expect.stringMatching(/boundary/),
    });
    await sql('update audit_keys set keyed_from_seq = 1 where chain = $1', [tenant.tenantId]);
    expect(await verify(tenant.adminToken)).toMatchObject({ ok: true, checked: 3 });

    await sql(
      `update audit_keys set wrapped_key = (select wrapped_key from audit_keys where chain = $2),
         keyed_from_mac = (select keyed_from_mac from audit_keys where chain = $2) where chain = $1`,
      [tenant.tenantId, other.tenantId],
    );
    expect(await verify(tenant.adminToken)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/keyring refused/),
    });
  });

  test('deleting the audit key row does not let an unkeyed chain pass', async () => {
    const tenant = await tenantWithEvents(3);
    await sql('delete from audit_keys where chain = $1', [tenant.tenantId]);
    expect(await verify(tenant.adminToken)).toMatchObject({
      ok: false,
      keyedFromSeq: null,
      problem: expect.stringMatching(/no audit key/),
    });
  });
});

describe('truncation and the anchored head', () => {
  test('events removed from the end with the head moved back pass a plain verify, but not one with the anchored head', async () => {
    const tenant = await tenantWithEvents(6);
    const anchored = await auditHead(tenant.adminToken);
    expect(anchored).toEqual({
      chain: tenant.tenantId,
      seq: 6,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      keyedFromSeq: 1,
    });
    const cliHead = jsonLines((await runKeyward(['audit', 'head', '--tenant', tenant.tenantId])).stdout);
    expect(cliHead).toEqual([{ ...anchored, anchor: `${tenant.tenantId}:6:${anchored.hash}` }]);
    const expectHead = { seq: anchored.seq, hash: anchored.hash };
    expect(await verify(tenant.adminToken, { expectHead })).toMatchObject({ ok: true, checked: 6 });

    // The newest two events go, and the head is set to what is now the last one.
    const rows = await storedEvents(tenant.tenantId);
    await sql('delete from audit_events where chain = $1 and seq > 4', [tenant.tenantId]);
    await sql('update audit_chain_heads set seq = 4, hash = $2 where chain = $1', [tenant.tenantId, rows[3].hash]);

    // What verify cannot see on its own: the remaining chain is exactly as it was written.
    expect(await verify(tenant.adminToken)).toMatchObject({ ok: true, checked: 4 });
    expect(await verify(tenant.adminToken, { expectHead })).toEqual({
      ok: false,
      checked: 4,
      firstBrokenSeq: 5,
      keyedFromSeq: 1,
      unkeyedEvents: 0,
      problem: expect.stringMatching(/ends before the expected head/),
    });
    const cli = await runKeyward(['audit', 'verify', '--expect-head', cliHead[0].anchor]);
    expect(cli.code).toBe(1);
    expect(jsonLines(cli.stdout).find((line) => line.chain === tenant.tenantId)).toMatchObject({
      ok: false,
      firstBrokenSeq: 5,
    });
  }, 120_000);

  test('an anchored head whose event was replaced is reported at its seq; a malformed one is BAD_USER_INPUT', async () => {
    const tenant = await tenantWithEvents(3);
    const anchored = await auditHead(tenant.adminToken);
    expect(await verify(tenant.adminToken, { expectHead: { seq: 3, hash: 'f'.repeat(64) } })).toMatchObject({
      ok: false,
      firstBrokenSeq: 3,
      problem: expect.stringMatching(/expected head/),
    });
    const bad = await post(gw, tenant.adminToken, VERIFY, { expectHead: { seq: 0, hash: anchored.hash } });
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
  });
});

describe('audit keys at rest', () => {
  test('each chain has its own key, stored only wrapped (purpose audit-key, bound to the chain); the key is nowhere in the database', async () => {
    const tenant = await tenantWithEvents(2);
    const [row] = await sql<{ keyring: string; master_key_id: string; wrapped_key: Buffer; keyed_from_seq: number }>(
      'select keyring, master_key_id, wrapped_key, keyed_from_seq from audit_keys where chain = $1',
      [tenant.tenantId],
    );
    expect(row).toMatchObject({ keyring: 'local', keyed_from_seq: 1 });
    const keyring = new LocalKeyring(testMasterKey());
    const wrapped = { wrapped: row.wrapped_key, masterKeyId: row.master_key_id };
    const key = await keyring.unwrapDataKey(tenant.tenantId, wrapped, 'audit-key');
    // It is the key the chain is MACed with.
    const [first] = await storedEvents(tenant.tenantId);
    expect(
      createHmac('sha256', key)
        .update(auditMacMessage(GENESIS_HASH, contentOf(first)))
        .digest('hex'),
    ).toBe(first.hash);
    // Neither a data key of this tenant nor the key of another chain.
    await expect(keyring.unwrapDataKey(tenant.tenantId, wrapped, 'data-key')).rejects.toThrow(/did not authenticate/);
    await expect(keyring.unwrapDataKey(randomUUID(), wrapped, 'audit-key')).rejects.toThrow(/did not authenticate/);
    const [dataKey] = await sql<{ wrapped_key: Buffer; master_key_id: string }>(
      'select wrapped_key, master_key_id from tenant_data_keys where tenant_id = $1',
      [tenant.tenantId],
    );
    const plainDataKey = await keyring.unwrapDataKey(tenant.tenantId, {
      wrapped: dataKey.wrapped_key,
      masterKeyId: dataKey.master_key_id,
    });
    expect(plainDataKey.equals(key)).toBe(false);

    // No column of any table holds the key in plaintext (raw, hex or base64).
    const dump = await sql<{ text: string }>(
      `select string_agg(t::text, E'\\n') as text from (
         select row_to_json(a)::text as t from audit_keys a union all select row_to_json(e)::text from audit_events e
         union all select row_to_json(d)::text from tenant_data_keys d union all select row_to_json(h)::text from audit_chain_heads h) all_rows`,
    );
    const text = dump[0].text;
    for (const spelling of [key.toString('hex'), key.toString('base64'), `\\\\x${key.toString('hex')}`])
      expect(text.includes(spelling)).toBe(false);
    const rawHit = await sql('select 1 from audit_keys where position($1::bytea in wrapped_key) > 0', [key]);
    expect(rawHit).toEqual([]);
  });

  test("a deleted tenant's trail keeps its audit key and still verifies, while its data keys are shredded", async () => {
    const tenant = await tenantWithEvents(3);
    await ok(gw, gw.platformToken, DELETE_TENANT, { id: tenant.tenantId });
    expect(await sql('select 1 from tenant_data_keys where tenant_id = $1', [tenant.tenantId])).toEqual([]);
    expect(await sql('select 1 from audit_keys where chain = $1', [tenant.tenantId])).toHaveLength(1);
    expect(await verify(gw.platformToken, { tenantId: tenant.tenantId })).toMatchObject({
      ok: true,
      checked: 3,
      keyedFromSeq: 1,
    });
  });
});

describe('chains written before keying', () => {
  test('an unkeyed chain is keyed from its next seq at start, says so in an audit.key.create event, and its old prefix is bound to the keyed part', async () => {
    // A chain as the unkeyed gateway wrote it: plain SHA-256 hashes, a head, no audit key.
    const chain = randomUUID();
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= 3; seq++) {
      const content: HashedContent = {
        chain,
        seq,
        at: new Date(),
        tenantId: chain,
        actorId: null,
        action: 'legacy.event',
        targetType: null,
        targetId: null,
        outcome: 'SUCCESS',
        requestId: null,
        ip: null,
        detail: null,
      };
      const hash = auditHash(prevHash, content);
      await sql(
        `insert into audit_events (id, chain, seq, at, tenant_id, action, outcome, prev_hash, hash) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [randomUUID(), chain, seq, content.at, chain, content.action, content.outcome, prevHash, hash],
      );
      prevHash = hash;
    }
    await sql('insert into audit_chain_heads (chain, seq, hash) values ($1, 3, $2)', [chain, prevHash]);
    expect(await verify(gw.platformToken, { tenantId: chain })).toMatchObject({
      ok: false,
      keyedFromSeq: null,
      unkeyedEvents: 3,
    });

    expect(await gw.gateway.services.audit.keyUnkeyedChains()).toContain(chain);
    await gw.gateway.services.audit.append({ tenantId: chain, action: 'test.after', outcome: AuditOutcome.SUCCESS });
    const events = await storedEvents(chain);
    expect(events.map((event) => [event.seq, event.action])).toEqual([
      [1, 'legacy.event'],
      [2, 'legacy.event'],
      [3, 'legacy.event'],
      [4, 'audit.key.create'],
      [5, 'test.after'],
    ]);
    expect(JSON.parse(events[3].detail!)).toEqual({ keyedFromSeq: 4 });
    expect(await verify(gw.platformToken, { tenantId: chain })).toEqual({
      ok: true,
      checked: 5,
      firstBrokenSeq: null,
      keyedFromSeq: 4,
      unkeyedEvents: 3,
      problem: null,
    });

    // Rewriting the unkeyed prefix (consistently, as plain SHA-256) breaks the first keyed event's link.
    const forged = { ...events[1], detail: '{"forged":true}' };
    forged.hash = auditHash(events[0].hash, contentOf(forged));
    const third = { ...events[2], prev_hash: forged.hash };
    third.hash = auditHash(forged.hash, contentOf(third));
    await sql('update audit_events set detail = $2, hash = $3 where chain = $1 and seq = 2', [
      chain,
      forged.detail,
      forged.hash,
    ]);
    await sql('update audit_events set prev_hash = $2, hash = $3 where chain = $1 and seq = 3', [
      chain,
      third.prev_hash,
      third.hash,
    ]);
    expect(await verify(gw.platformToken, { tenantId: chain })).toMatchObject({ ok: false, firstBrokenSeq: 4 });
  });

  test('every event the gateway writes is keyed: a new chain needs no audit.key.create', async () => {
    const tenant = await tenantWithEvents(2);
    const events = await allAuditEvents(gw, tenant.adminToken);
    expect(events.map((event) => event.action)).not.toContain('audit.key.create');
  });
});
