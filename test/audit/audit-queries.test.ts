import { allAuditEvents, auditPage, sleep } from '../support/audit-helpers';
import {
  REVOKE_TOKEN,
  VERIFY_AUDIT_LOG,
  VERIFY_AUDIT_LOG_OF,
  type AuditEventView,
  type AuditFilterArgs,
} from '../support/documents';
import {
  createMember,
  createTenantWithAdmin,
  issueToken,
  uniqueName,
  type TenantFixture,
  type UserFixture,
} from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, ok, post } from '../support/graphql-client';
import { sql } from '../support/sql';

/**
 * auditEvents and verifyAuditLog: who may read which chain, newest-first order, cursor
 * pagination, page-size and cursor validation, and every filter.
 */

let gw: TestGateway;
let tenant: TenantFixture;
let otherTenant: TenantFixture;
let member: UserFixture;
let auditor: UserFixture;
/** The tenant's whole chain, newest first, as its admin reads it. */
let chain: AuditEventView[];
const memberTokenIds: string[] = [];
const memberTokens: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway();
  tenant = await createTenantWithAdmin(gw, 'audit-queries');
  otherTenant = await createTenantWithAdmin(gw, 'audit-queries-other');
  member = await createMember(gw, tenant.adminToken, 'MEMBER');
  auditor = await createMember(gw, tenant.adminToken, 'AUDITOR');
  await createMember(gw, otherTenant.adminToken, 'MEMBER');
  // More events, spread over time so that since/until have something to cut: the member's own
  // tokens (actor: member), the admin's revocations of them (actor: admin).
  for (let i = 0; i < 8; i++) {
    const issued = await issueToken(gw, member.token, { name: uniqueName('q') });
    memberTokenIds.push(issued.id);
    memberTokens.push(issued.token);
    await sleep(15);
  }
  for (const id of memberTokenIds.slice(0, 4)) {
    await ok(gw, tenant.adminToken, REVOKE_TOKEN, { id });
    await sleep(15);
  }
  // A revoked token used once: auth.failed, the chain's only event without an actor.
  expect(errorCode(await post(gw, memberTokens[0], '{ me { id } }'))).toBe('UNAUTHENTICATED');
  chain = await allAuditEvents(gw, tenant.adminToken);
}, 60_000);

afterAll(() => gw?.stop());

const ids = (events: AuditEventView[]): string[] => events.map((event) => event.id);

describe('who reads which chain', () => {
  test('the chain is the one stored for the tenant: every event, only its events', async () => {
    // datakey.create + 2 × (user.create, token.issue) + 8 token.issue + 4 token.revoke + auth.failed
    expect(chain).toHaveLength(18);
    expect(chain.filter((event) => event.actorId === null).map((event) => event.action)).toEqual(['auth.failed']);
    const stored = await sql<{ id: string }>('select id from audit_events where chain = $1 order by seq desc', [
      tenant.tenantId,
    ]);
    expect(ids(chain)).toEqual(stored.map((row) => row.id));
    expect(chain.every((event) => event.tenantId === tenant.tenantId)).toBe(true);
  });

  test('a MEMBER gets FORBIDDEN from auditEvents and verifyAuditLog', async () => {
    expect(errorCode(await auditPage(gw, member.token))).toBe('FORBIDDEN');
    expect(errorCode(await auditPage(gw, member.token, { filter: { tenantId: tenant.tenantId } }))).toBe('FORBIDDEN');
    expect(errorCode(await post(gw, member.token, VERIFY_AUDIT_LOG))).toBe('FORBIDDEN');
  });

  test('an AUDITOR and a TENANT_ADMIN read exactly their own tenant', async () => {
    expect(ids(await allAuditEvents(gw, auditor.token))).toEqual(ids(chain));
    expect(ids(await allAuditEvents(gw, auditor.token, { tenantId: tenant.tenantId }))).toEqual(ids(chain));
    expect(ids(await allAuditEvents(gw, tenant.adminToken, { tenantId: tenant.tenantId }))).toEqual(ids(chain));
    const theirs = await allAuditEvents(gw, otherTenant.adminToken);
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.every((event) => event.tenantId === otherTenant.tenantId)).toBe(true);
    expect(ids(theirs).filter((id) => ids(chain).includes(id))).toEqual([]);

    for (const token of [auditor.token, tenant.adminToken]) {
      expect((await ok(gw, token, VERIFY_AUDIT_LOG)).verifyAuditLog).toMatchObject({ ok: true, firstBrokenSeq: null });
    }
  });

  test('a TENANT_ADMIN or AUDITOR naming another tenant gets FORBIDDEN, for events and verification', async () => {
    for (const token of [tenant.adminToken, auditor.token]) {
      expect(errorCode(await auditPage(gw, token, { filter: { tenantId: otherTenant.tenantId } }))).toBe('FORBIDDEN');
      expect(errorCode(await post(gw, token, VERIFY_AUDIT_LOG_OF, { tenantId: otherTenant.tenantId }))).toBe(
        'FORBIDDEN',
      );
    }
  });

  test('a PLATFORM_ADMIN reads and verifies another tenant through tenantId', async () => {
    expect(ids(await allAuditEvents(gw, gw.platformToken, { tenantId: tenant.tenantId }))).toEqual(ids(chain));
    expect((await ok(gw, gw.platformToken, VERIFY_AUDIT_LOG_OF, { tenantId: tenant.tenantId })).verifyAuditLog).toEqual(
      {
        ok: true,
        checked: chain.length,
        firstBrokenSeq: null,
      },
    );
    expect(errorCode(await auditPage(gw, gw.platformToken, { filter: { tenantId: 'not-a-tenant' } }))).toBe(
      'BAD_USER_INPUT',
    );
  });
});

describe('order and pagination', () => {
  test('newest first: seq n..1 without gaps, at never increasing', () => {
    expect(chain.map((event) => event.seq)).toEqual(Array.from({ length: chain.length }, (_, i) => chain.length - i));
    for (let i = 1; i < chain.length; i++) {
      expect(Date.parse(chain[i].at)).toBeLessThanOrEqual(Date.parse(chain[i - 1].at));
    }
  });

  test.each([1, 4, 5, 17, 18, 50])('first: %i walks every event exactly once, then hasNextPage false', async (size) => {
    const seen: AuditEventView[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const res = await auditPage(gw, auditor.token, { first: size, after });
      expect(res.errors).toBeUndefined();
      const page = res.data!.auditEvents;
      pages++;
      expect(page.edges.length).toBeLessThanOrEqual(size);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
      seen.push(...page.edges.map((edge) => edge.node));
      if (!page.pageInfo.hasNextPage) break;
      expect(page.edges).toHaveLength(size);
      after = page.pageInfo.endCursor;
      expect(pages).toBeLessThan(100);
    }
    expect(ids(seen)).toEqual(ids(chain));
    expect(new Set(ids(seen)).size).toBe(chain.length);
    expect(pages).toBe(Math.max(1, Math.ceil(chain.length / size)));
  });

  test('the default page is 50; a cursor continues strictly below its event', async () => {
    const res = await auditPage(gw, tenant.adminToken);
    expect(res.data!.auditEvents.edges).toHaveLength(chain.length);
    expect(res.data!.auditEvents.pageInfo.hasNextPage).toBe(false);
    const third = res.data!.auditEvents.edges[2];
    const rest = await auditPage(gw, tenant.adminToken, { first: 500, after: third.cursor });
    expect(ids(rest.data!.auditEvents.edges.map((edge) => edge.node))).toEqual(ids(chain.slice(3)));
  });

  test.each([0, -1, 501, 100000])('first: %i is BAD_USER_INPUT', async (first) => {
    expect(errorCode(await auditPage(gw, tenant.adminToken, { first }))).toBe('BAD_USER_INPUT');
  });

  test('a well-formed cursor beyond every seq (even past int4) starts from the newest event', async () => {
    for (const seq of [chain.length + 1, 2147483647, 9999999999]) {
      const res = await auditPage(gw, tenant.adminToken, { after: Buffer.from(`seq:${seq}`).toString('base64url') });
      expect(res.errors).toBeUndefined();
      expect(ids(res.data!.auditEvents.edges.map((edge) => edge.node))).toEqual(ids(chain));
    }
  });

  test('first: 500 is allowed', async () => {
    const res = await auditPage(gw, tenant.adminToken, { first: 500 });
    expect(res.errors).toBeUndefined();
    expect(res.data!.auditEvents.edges).toHaveLength(chain.length);
  });

  test.each([
    ['garbage', 'not a cursor!'],
    ['base64 of something else', Buffer.from('offset:3').toString('base64url')],
    ['a seq that is not a number', Buffer.from('seq:abc').toString('base64url')],
    ['a negative seq', Buffer.from('seq:-3').toString('base64url')],
    ['a huge seq', Buffer.from('seq:99999999999999').toString('base64url')],
    ['empty base64', '===='],
  ])('a cursor that is %s is BAD_USER_INPUT', async (_what, after) => {
    const res = await auditPage(gw, tenant.adminToken, { after });
    expect(errorCode(res)).toBe('BAD_USER_INPUT');
  });
});

describe('filters', () => {
  const expectFilter = async (filter: AuditFilterArgs, expected: AuditEventView[]) => {
    const got = await allAuditEvents(gw, auditor.token, filter);
    expect(ids(got)).toEqual(ids(expected));
    // And through small pages too: the cursor keeps the filter's selection.
    expect(ids(await allAuditEvents(gw, auditor.token, filter, 2))).toEqual(ids(expected));
  };

  test('action', async () => {
    const issued = chain.filter((event) => event.action === 'token.issue');
    expect(issued).toHaveLength(10);
    await expectFilter({ action: 'token.issue' }, issued);
    await expectFilter(
      { action: 'token.revoke' },
      chain.filter((event) => event.action === 'token.revoke'),
    );
    await expectFilter({ action: 'no.such.action' }, []);
  });

  test('actorId', async () => {
    const byMember = chain.filter((event) => event.actorId === member.userId);
    expect(byMember).toHaveLength(8);
    await expectFilter({ actorId: member.userId }, byMember);
    await expectFilter(
      { actorId: tenant.adminId },
      chain.filter((event) => event.actorId === tenant.adminId),
    );
    await expectFilter({ actorId: otherTenant.adminId }, []);
  });

  test('actorId that is not an id selects nothing (not the events without an actor)', async () => {
    await expectFilter({ actorId: 'nobody' }, []);
  });

  test('targetId', async () => {
    const id = memberTokenIds[0];
    const aboutToken = chain.filter((event) => event.targetId === id);
    expect(aboutToken.map((event) => event.action)).toEqual(['auth.failed', 'token.revoke', 'token.issue']);
    await expectFilter({ targetId: id }, aboutToken);
    await expectFilter(
      { targetId: member.userId },
      chain.filter((event) => event.targetId === member.userId),
    );
    await expectFilter({ targetId: 'nothing-has-this-target' }, []);
  });

  test('since and until (inclusive), alone and together, with other filters', async () => {
    const at = (event: AuditEventView) => Date.parse(event.at);
    const pivotNew = chain[3];
    const pivotOld = chain[chain.length - 4];
    await expectFilter(
      { since: pivotNew.at },
      chain.filter((event) => at(event) >= at(pivotNew)),
    );
    await expectFilter(
      { until: pivotOld.at },
      chain.filter((event) => at(event) <= at(pivotOld)),
    );
    const window = chain.filter((event) => at(event) >= at(pivotOld) && at(event) <= at(pivotNew));
    expect(window.length).toBeGreaterThan(4);
    expect(window.length).toBeLessThan(chain.length);
    await expectFilter({ since: pivotOld.at, until: pivotNew.at }, window);
    await expectFilter(
      { since: pivotOld.at, until: pivotNew.at, action: 'token.issue', actorId: member.userId },
      window.filter((event) => event.action === 'token.issue' && event.actorId === member.userId),
    );
    await expectFilter({ since: new Date(Date.now() + 60_000).toISOString() }, []);
    await expectFilter({ until: new Date(Date.parse(chain.at(-1)!.at) - 1).toISOString() }, []);
  });
});
