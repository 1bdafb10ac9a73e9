import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { auditHash } from '../../src/audit/audit-hash';
import { ensureCliBuilt, jsonLines, runKeyward } from '../support/audit-cli';
import { allAuditEvents, sleep, storedEvents, type StoredEvent } from '../support/audit-helpers';
import { ISSUE_TOKEN, VERIFY_AUDIT_LOG, type AuditEventView } from '../support/documents';
import { createTenantWithAdmin, uniqueName, type TenantFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { ok } from '../support/graphql-client';
import { withPg } from '../support/sql';

/**
 * The keyed hash chain: concurrent writers get seqs 1..n without gaps or duplicates; any change to a
 * stored event, a deleted event (middle or end), a removed head or a forged extra event is found
 * by verifyAuditLog and by `keyward audit verify`; `keyward audit export` writes one line per event.
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
}

const verify = async (tenant: TenantFixture): Promise<Verification> =>
  (await ok(gw, tenant.adminToken, VERIFY_AUDIT_LOG)).verifyAuditLog;

const storedSeqs = (chain: string): Promise<number[]> =>
  withPg(async (pg) =>
    (await pg.query<{ seq: number }>('select seq from audit_events where chain = $1 order by seq', [chain])).rows.map(
      (row) => row.seq,
    ),
  );

const head = (chain: string) =>
  withPg(
    async (pg) =>
      (
        await pg.query<{ seq: number; hash: string }>('select seq, hash from audit_chain_heads where chain = $1', [
          chain,
        ])
      ).rows[0],
  );

const oneToN = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** A fresh tenant whose chain holds exactly `n` events: datakey.create, then n - 1 appended ones. */
async function tenantWithEvents(n: number): Promise<TenantFixture> {
  const tenant = await createTenantWithAdmin(gw, 'audit-chain');
  for (let i = 2; i <= n; i++) {
    await gw.gateway.services.audit.append({
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      action: 'test.event',
      targetType: 'test',
      targetId: `target-${i}`,
      outcome: AuditOutcome.SUCCESS,
      requestId: `req-${i}`,
      ip: '192.0.2.1',
      detail: { index: i },
    });
  }
  expect(await storedSeqs(tenant.tenantId)).toEqual(oneToN(n));
  expect(await verify(tenant)).toEqual({ ok: true, checked: n, firstBrokenSeq: null });
  return tenant;
}

const tamper = (text: string, params: unknown[]) => withPg((pg) => pg.query(text, params));

/** The hash the application would compute for this stored row after `prevHash`. */
const rehash = (prevHash: string, row: StoredEvent): string =>
  auditHash(prevHash, {
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

describe('concurrent writers', () => {
  test('20 parallel issueApiToken mutations: seqs 1..21, no gap, no duplicate, and the chain verifies', async () => {
    const tenant = await createTenantWithAdmin(gw, 'audit-chain-mutations');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => ok(gw, tenant.adminToken, ISSUE_TOKEN, { input: { name: uniqueName('par') } })),
    );
    expect(new Set(results.map((res) => res.issueApiToken.apiToken.id)).size).toBe(20);

    expect(await storedSeqs(tenant.tenantId)).toEqual(oneToN(21));
    const events = await allAuditEvents(gw, tenant.adminToken, { action: 'token.issue' });
    expect(events.map((event) => event.targetId).sort()).toEqual(
      results.map((res) => res.issueApiToken.apiToken.id).sort(),
    );
    expect(await verify(tenant)).toEqual({ ok: true, checked: 21, firstBrokenSeq: null });
    expect(await head(tenant.tenantId)).toEqual({
      seq: 21,
      hash: (await allAuditEvents(gw, tenant.adminToken))[0].hash,
    });
  });

  test('20 parallel services.audit.append calls on one chain: seqs 1..21, each event once, and it verifies', async () => {
    const tenant = await createTenantWithAdmin(gw, 'audit-chain-appends');
    const failuresBefore = gw.logs.lines.filter((line) => line.includes('AUDIT APPEND FAILED')).length;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        gw.gateway.services.audit.append({
          tenantId: tenant.tenantId,
          action: 'test.parallel',
          outcome: AuditOutcome.SUCCESS,
          detail: { index: i },
        }),
      ),
    );
    expect(gw.logs.lines.filter((line) => line.includes('AUDIT APPEND FAILED')).length).toBe(failuresBefore);
    expect(await storedSeqs(tenant.tenantId)).toEqual(oneToN(21));
    const events = await allAuditEvents(gw, tenant.adminToken, { action: 'test.parallel' });
    expect(events.map((event) => JSON.parse(event.detail!).index).sort((a, b) => a - b)).toEqual(
      oneToN(20).map((i) => i - 1),
    );
    // Each append links to the one before it in seq order, whatever order the writers ran in.
    const stored = await storedEvents(tenant.tenantId);
    for (let i = 1; i < stored.length; i++) expect(stored[i].prev_hash).toBe(stored[i - 1].hash);
    expect(await verify(tenant)).toEqual({ ok: true, checked: 21, firstBrokenSeq: null });
  });

  test('verifying while events are being appended never reports a sound chain as broken', async () => {
    const tenant = await tenantWithEvents(3);
    let appending = true;
    const writer = (async () => {
      for (let i = 0; appending && i < 150; i++) {
        await gw.gateway.services.audit.append({
          tenantId: tenant.tenantId,
          action: 'test.live',
          outcome: AuditOutcome.SUCCESS,
        });
      }
    })();
    const results: Verification[] = [];
    try {
      for (let i = 0; i < 10; i++) results.push(await verify(tenant));
    } finally {
      appending = false;
      await writer;
    }
    expect(results.filter((result) => !result.ok)).toEqual([]);
    const n = (await storedSeqs(tenant.tenantId)).length;
    expect(n).toBeGreaterThan(3);
    expect(await verify(tenant)).toEqual({ ok: true, checked: n, firstBrokenSeq: null });
  });
});

describe('tampering is found at the right seq', () => {
  test.each([
    ['detail', `update audit_events set detail = '{"index":99}' where chain = $1 and seq = $2`],
    ['action', `update audit_events set action = 'test.harmless' where chain = $1 and seq = $2`],
    ['at', `update audit_events set at = at + interval '1 second' where chain = $1 and seq = $2`],
    ['outcome', `update audit_events set outcome = 'DENIED' where chain = $1 and seq = $2`],
    ['actor', `update audit_events set actor_id = null where chain = $1 and seq = $2`],
  ])("changing one event's %s", async (_field, statement) => {
    const tenant = await tenantWithEvents(6);
    const result = await tamper(statement, [tenant.tenantId, 4]);
    expect(result.rowCount).toBe(1);
    expect(await verify(tenant)).toEqual({ ok: false, checked: 3, firstBrokenSeq: 4 });
  });

  test('changing an event and recomputing its hash as plain SHA-256 (no audit key) is caught at that event', async () => {
    const tenant = await tenantWithEvents(6);
    const [row] = (await storedEvents(tenant.tenantId)).filter((event) => event.seq === 3);
    const forged = { ...row, detail: '{"index":-1}' };
    await tamper('update audit_events set detail = $3, hash = $4 where chain = $1 and seq = $2', [
      tenant.tenantId,
      3,
      forged.detail,
      rehash(row.prev_hash, forged),
    ]);
    expect(await verify(tenant)).toEqual({ ok: false, checked: 2, firstBrokenSeq: 3 });
  });

  test('rewriting the rest of the chain consistently with plain SHA-256 is caught at the first rewritten event', async () => {
    const tenant = await tenantWithEvents(6);
    const rows = await storedEvents(tenant.tenantId);
    let prevHash = rows[1].hash;
    for (const row of rows.slice(2)) {
      const forged = { ...row, detail: row.seq === 3 ? '{"index":-1}' : row.detail, prev_hash: prevHash };
      forged.hash = rehash(prevHash, forged);
      await tamper('update audit_events set detail = $3, prev_hash = $4, hash = $5 where chain = $1 and seq = $2', [
        tenant.tenantId,
        row.seq,
        forged.detail,
        forged.prev_hash,
        forged.hash,
      ]);
      prevHash = forged.hash;
    }
    expect(await verify(tenant)).toEqual({ ok: false, checked: 2, firstBrokenSeq: 3 });
  });

  test('deleting a middle event is reported at its seq', async () => {
    const tenant = await tenantWithEvents(6);
    await tamper('delete from audit_events where chain = $1 and seq = $2', [tenant.tenantId, 3]);
    expect(await verify(tenant)).toEqual({ ok: false, checked: 2, firstBrokenSeq: 3 });
  });

  test('deleting the first event is reported at seq 1', async () => {
    const tenant = await tenantWithEvents(4);
    await tamper('delete from audit_events where chain = $1 and seq = $2', [tenant.tenantId, 1]);
    expect(await verify(tenant)).toEqual({ ok: false, checked: 0, firstBrokenSeq: 1 });
  });

  test('deleting the last event (or the last two) is reported: the head does not match', async () => {
    const tenant = await tenantWithEvents(6);
    await tamper('delete from audit_events where chain = $1 and seq = $2', [tenant.tenantId, 6]);
    expect(await verify(tenant)).toEqual({ ok: false, checked: 5, firstBrokenSeq: 6 });
    await tamper('delete from audit_events where chain = $1 and seq = $2', [tenant.tenantId, 5]);
    expect(await verify(tenant)).toEqual({ ok: false, checked: 4, firstBrokenSeq: 5 });
  });

  test('deleting the last event together with the head row is reported', async () => {
    const tenant = await tenantWithEvents(5);
    await tamper('delete from audit_events where chain = $1 and seq = $2', [tenant.tenantId, 5]);
    await tamper('delete from audit_chain_heads where chain = $1', [tenant.tenantId]);
    expect(await verify(tenant)).toMatchObject({ ok: false });
  });

  test('a forged event appended after the head (hashes computed correctly) is reported at its seq', async () => {
    const tenant = await tenantWithEvents(4);
    const rows = await storedEvents(tenant.tenantId);
    const last = rows[rows.length - 1];
    const forged: StoredEvent = {
      ...last,
      seq: 5,
      at: new Date(),
      action: 'test.forged',
      detail: null,
      prev_hash: last.hash,
    };
    forged.hash = rehash(last.hash, forged);
    await tamper(
      `insert into audit_events (id, chain, seq, at, tenant_id, actor_id, action, target_type, target_id, outcome, request_id, ip, detail, prev_hash, hash)
       values (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        forged.chain,
        forged.seq,
        forged.at,
        forged.tenant_id,
        forged.actor_id,
        forged.action,
        forged.target_type,
        forged.target_id,
        forged.outcome,
        forged.request_id,
        forged.ip,
        forged.detail,
        forged.prev_hash,
        forged.hash,
      ],
    );
    expect(await verify(tenant)).toEqual({ ok: false, checked: 4, firstBrokenSeq: 5 });
  });
});

describe('keyward audit verify / export', () => {
  test('verify --tenant exits 0 on a sound chain and 1 on a broken one, with one JSON line', async () => {
    const tenant = await tenantWithEvents(5);
    const good = await runKeyward(['audit', 'verify', '--tenant', tenant.tenantId]);
    expect({ code: good.code, stderr: good.stderr }).toEqual({ code: 0, stderr: '' });
    const keyed = { keyedFromSeq: 1, unkeyedEvents: 0 };
    expect(jsonLines(good.stdout)).toEqual([
      { chain: tenant.tenantId, ok: true, checked: 5, firstBrokenSeq: null, ...keyed, problem: null },
    ]);

    await tamper(`update audit_events set detail = '{"index":0}' where chain = $1 and seq = $2`, [tenant.tenantId, 3]);
    const bad = await runKeyward(['audit', 'verify', '--tenant', tenant.tenantId]);
    expect(bad.code).toBe(1);
    expect(jsonLines(bad.stdout)).toEqual([
      {
        chain: tenant.tenantId,
        ok: false,
        checked: 2,
        firstBrokenSeq: 3,
        ...keyed,
        problem: expect.stringMatching(/event 3/),
      },
    ]);

    const truncated = await tenantWithEvents(4);
    await tamper('delete from audit_events where chain = $1 and seq = $2', [truncated.tenantId, 4]);
    const end = await runKeyward(['audit', 'verify', '--tenant', truncated.tenantId]);
    expect(end.code).toBe(1);
    expect(jsonLines(end.stdout)).toEqual([
      {
        chain: truncated.tenantId,
        ok: false,
        checked: 3,
        firstBrokenSeq: 4,
        ...keyed,
        problem: expect.stringMatching(/head/),
      },
    ]);
  }, 120_000);

  test('export --since --tenant prints one JSON line per event at or after --since, oldest first', async () => {
    const tenant = await createTenantWithAdmin(gw, 'audit-chain-export');
    await sleep(20);
    const since = new Date();
    await sleep(5);
    for (let i = 0; i < 10; i++) {
      await gw.gateway.services.audit.append({
        tenantId: tenant.tenantId,
        action: 'test.export',
        outcome: AuditOutcome.SUCCESS,
        detail: { i },
      });
    }
    const chain: AuditEventView[] = (await allAuditEvents(gw, tenant.adminToken)).reverse();
    expect(chain).toHaveLength(11);
    const expected = chain.filter((event) => Date.parse(event.at) >= since.getTime());
    expect(expected.map((event) => event.seq)).toEqual(oneToN(11).slice(1));

    const out = await runKeyward(['audit', 'export', '--since', since.toISOString(), '--tenant', tenant.tenantId]);
    expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = jsonLines(out.stdout);
    expect(lines).toHaveLength(expected.length);
    expect(lines.map((line) => [line.id, line.seq, line.action, line.hash, line.chain, line.tenantId])).toEqual(
      expected.map((event) => [event.id, event.seq, event.action, event.hash, tenant.tenantId, tenant.tenantId]),
    );
    for (const [i, line] of lines.entries()) {
      expect(new Date(line.at).toISOString()).toBe(expected[i].at);
      expect(line.detail).toBe(expected[i].detail);
    }

    // --since before the tenant existed: the whole chain, datakey.create first.
    const all = jsonLines(
      (await runKeyward(['audit', 'export', '--since', '2000-01-01T00:00:00Z', '--tenant', tenant.tenantId])).stdout,
    );
    expect(all.map((line) => line.seq)).toEqual(oneToN(11));
    expect(all[0].action).toBe('datakey.create');
    // --since after the last event: nothing.
    const none = await runKeyward([
      'audit',
      'export',
      '--since',
      new Date(Date.now() + 60_000).toISOString(),
      '--tenant',
      tenant.tenantId,
    ]);
    expect({ code: none.code, stdout: none.stdout }).toEqual({ code: 0, stdout: '' });
  }, 120_000);

  test('export refuses a --since that is not a date', async () => {
    const out = await runKeyward(['audit', 'export', '--since', 'yesterday-ish']);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(/--since/);
  });
});
