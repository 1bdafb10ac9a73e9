import type { Client as WsClient } from 'graphql-ws';
import { generateBearerToken } from '../../src/auth/bearer-token';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { allAuditEvents, leaks, parseDetail } from '../support/audit-helpers';
import { chatClient, completedChat, runChat } from '../support/chat-harness';
import {
  CREATE_TENANT,
  CREATE_USER,
  DELETE_CREDENTIAL,
  DELETE_TENANT,
  ISSUE_TOKEN,
  ME,
  REVOKE_TOKEN,
  REWRAP_DATA_KEYS,
  ROTATE_DATA_KEY,
  SET_CREDENTIAL,
  UPDATE_POLICY,
  VERIFY_AUDIT_LOG,
  VERIFY_AUDIT_LOG_OF,
  type AuditEventView,
  type AuditFilterArgs,
  type ResultOf,
  type VariablesOf,
} from '../support/documents';
import { createTenantWithAdmin, uniqueEmail, uniqueName, type TenantFixture } from '../support/fixtures';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { errorCode, ok, post, type GraphQLResponse } from '../support/graphql-client';
import { sql } from '../support/sql';
import { providerKey } from '../support/vault-fixtures';

/**
 * Every audited action, performed once over the real API, leaves exactly one event with the right
 * fields in the right chain: the one whose requestId is the x-request-id the client got back.
 */

let anthropic: AnthropicServer;
let gw: TestGateway;
let platformKey: string;
let platformAdminId: string;
let platformTenantId: string;
let tenant: TenantFixture;
let other: TenantFixture;
const sockets: WsClient[] = [];

/** Every secret this file handled: bearer tokens and provider keys. No audit event may contain one. */
const secrets = new Set<string>();
const secret = <T extends string>(value: T): T => {
  secrets.add(value);
  return value;
};

/** How many times each action was performed against `tenant` (its chain must hold exactly these). */
const performed = new Map<string, number>();
const note = (action: string): void => {
  performed.set(action, (performed.get(action) ?? 0) + 1);
};

/** Request ids whose events are checked for secrets at the end, with the token that can read them. */
const checkedEvents: AuditEventView[] = [];

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  platformKey = secret(providerKey(Provider.ANTHROPIC));
  gw = await startTestGateway({ env: { ANTHROPIC_BASE_URL: anthropic.baseURL, ANTHROPIC_API_KEY: platformKey } });
  secret(gw.platformToken);
  const me = (await ok(gw, gw.platformToken, ME)).me;
  platformAdminId = me.id;
  platformTenantId = me.tenant.id;
  tenant = await createTenantWithAdmin(gw, 'audit-actions');
  secret(tenant.adminToken);
  other = await createTenantWithAdmin(gw, 'audit-actions-other');
  secret(other.adminToken);
}, 60_000);

afterAll(async () => {
  await Promise.all(sockets.map(async (socket) => socket.dispose()));
  await gw?.stop();
  await anthropic?.close();
});

/** Sends an operation; the gateway's x-request-id comes back and must be a real id. */
async function act<D extends string>(token: string | undefined, text: D, variables?: VariablesOf<D>) {
  const res = await post(gw, token, text, variables);
  expect(res.requestId).toMatch(/^[A-Za-z0-9._:-]{8,100}$/);
  return res as GraphQLResponse<ResultOf<D>> & { requestId: string };
}

/** The single event of a request among the events `filter` selects in the caller's readable chain. */
async function onlyEventOf(token: string, requestId: string, filter: AuditFilterArgs = {}): Promise<AuditEventView> {
  const events = (await allAuditEvents(gw, token, filter)).filter((event) => event.requestId === requestId);
  expect(events.map((event) => event.action)).toHaveLength(1);
  checkedEvents.push(events[0]);
  return events[0];
}

const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

function expectEvent(
  event: AuditEventView,
  expected: Partial<Omit<AuditEventView, 'detail'>> & { detail?: Record<string, unknown> | null },
): void {
  const { detail, ...fields } = expected;
  expect(event).toMatchObject(fields);
  expect(event.ip).toMatch(LOOPBACK);
  expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
  if (detail !== undefined) expect(parseDetail(event)).toEqual(detail);
}

const chatWith = (token: string): WsClient => {
  const client = chatClient(gw, token);
  sockets.push(client);
  return client;
};

let memberId: string;
let memberToken: string;
let revokedTokenId: string;
let revokedToken: string;
let tenantCredentialId: string;

describe('tenant-scoped actions', () => {
  test('user.create: one SUCCESS event naming the new user and its role', async () => {
    const res = await act(tenant.adminToken, CREATE_USER, { input: { email: uniqueEmail('member'), role: 'MEMBER' } });
    expect(res.errors).toBeUndefined();
    memberId = res.data!.createUser.id;
    note('user.create');

    const event = await onlyEventOf(tenant.adminToken, res.requestId);
    expectEvent(event, {
      action: 'user.create',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'user',
      targetId: memberId,
      requestId: res.requestId,
      detail: { role: 'MEMBER' },
    });
  });

  test('token.issue: one SUCCESS event per issued token, naming the token and its user, never the token', async () => {
    const issued = await act(tenant.adminToken, ISSUE_TOKEN, { input: { name: uniqueName('t'), userId: memberId } });
    expect(issued.errors).toBeUndefined();
    revokedToken = secret(issued.data!.issueApiToken.token);
    revokedTokenId = issued.data!.issueApiToken.apiToken.id;
    note('token.issue');
    expectEvent(await onlyEventOf(tenant.adminToken, issued.requestId), {
      action: 'token.issue',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'api_token',
      targetId: revokedTokenId,
      requestId: issued.requestId,
      detail: { userId: memberId },
    });

    const second = await act(tenant.adminToken, ISSUE_TOKEN, { input: { name: uniqueName('t'), userId: memberId } });
    memberToken = secret(second.data!.issueApiToken.token);
    note('token.issue');
    expect((await onlyEventOf(tenant.adminToken, second.requestId)).targetId).toBe(
      second.data!.issueApiToken.apiToken.id,
    );
  });

  test('token.revoke: one SUCCESS event naming the token', async () => {
    const res = await act(tenant.adminToken, REVOKE_TOKEN, { id: revokedTokenId });
    expect(res.errors).toBeUndefined();
    note('token.revoke');
    expectEvent(await onlyEventOf(tenant.adminToken, res.requestId), {
      action: 'token.revoke',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'api_token',
      targetId: revokedTokenId,
      requestId: res.requestId,
      detail: {},
    });
  });

  test("auth.failed with a revoked token: one DENIED event in the token's tenant chain", async () => {
    const res = await act(revokedToken, ME);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
    note('auth.failed');
    expectEvent(await onlyEventOf(tenant.adminToken, res.requestId), {
      action: 'auth.failed',
      outcome: 'DENIED',
      tenantId: tenant.tenantId,
      actorId: null,
      targetType: 'api_token',
      targetId: revokedTokenId,
      requestId: res.requestId,
      detail: { reason: 'revoked' },
    });
  });

  test('policy.update: one SUCCESS event listing the changed fields', async () => {
    const res = await act(tenant.adminToken, UPDATE_POLICY, {
      input: { requestsPerMinute: 1000, monthlyBudgetUsd: 100 },
    });
    expect(res.errors).toBeUndefined();
    note('policy.update');
    const event = await onlyEventOf(tenant.adminToken, res.requestId);
    expectEvent(event, {
      action: 'policy.update',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'tenant',
      targetId: tenant.tenantId,
      requestId: res.requestId,
    });
    expect([...(parseDetail(event)!.changed as string[])].sort()).toEqual(['monthlyBudgetUsd', 'requestsPerMinute']);
  });

  test('credential.set then credential.replace: one event each, same credential, last4 but never the key', async () => {
    const first = secret(providerKey(Provider.ANTHROPIC));
    const set = await act(tenant.adminToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: first, validate: false },
    });
    expect(set.errors).toBeUndefined();
    tenantCredentialId = set.data!.setCredential.id;
    note('credential.set');
    expectEvent(await onlyEventOf(tenant.adminToken, set.requestId), {
      action: 'credential.set',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'credential',
      targetId: tenantCredentialId,
      requestId: set.requestId,
      detail: { provider: 'ANTHROPIC', scope: 'TENANT', last4: first.slice(-4), dataKeyVersion: 1 },
    });

    let second = secret(providerKey(Provider.ANTHROPIC));
    while (second.slice(-4) === first.slice(-4)) second = secret(providerKey(Provider.ANTHROPIC));
    const replace = await act(tenant.adminToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: second, validate: false },
    });
    expect(replace.data!.setCredential.id).toBe(tenantCredentialId);
    note('credential.replace');
    expectEvent(await onlyEventOf(tenant.adminToken, replace.requestId), {
      action: 'credential.replace',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'credential',
      targetId: tenantCredentialId,
      requestId: replace.requestId,
      detail: { provider: 'ANTHROPIC', scope: 'TENANT', last4: second.slice(-4), dataKeyVersion: 1 },
    });
  });

  test('credential.validate: a key the provider rejects (401) gives one FAILURE event and no credential.set', async () => {
    const rejected = secret(providerKey(Provider.ANTHROPIC));
    anthropic.rejectKey(rejected, 401);
    const res = await act(memberToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: rejected, validate: true },
    });
    expect(errorCode(res)).toBe('INVALID_PROVIDER_KEY');
    expect(
      anthropic.requests.filter((request) => request.apiKey === rejected).map((request) => request.status),
    ).toEqual([401]);
    note('credential.validate');
    expectEvent(await onlyEventOf(tenant.adminToken, res.requestId), {
      action: 'credential.validate',
      outcome: 'FAILURE',
      tenantId: tenant.tenantId,
      actorId: memberId,
      targetType: 'credential',
      targetId: null,
      requestId: res.requestId,
      detail: { provider: 'ANTHROPIC', scope: 'PERSONAL', code: 'INVALID_PROVIDER_KEY' },
    });
  });

  test('credential.delete: one SUCCESS event for the owner deleting a personal key', async () => {
    const key = secret(providerKey(Provider.ANTHROPIC));
    const set = await act(memberToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: key, validate: false },
    });
    const credentialId = set.data!.setCredential.id;
    note('credential.set');
    expectEvent(await onlyEventOf(tenant.adminToken, set.requestId), {
      action: 'credential.set',
      actorId: memberId,
      targetId: credentialId,
      detail: { provider: 'ANTHROPIC', scope: 'PERSONAL', last4: key.slice(-4), dataKeyVersion: 1 },
    });

    const res = await act(memberToken, DELETE_CREDENTIAL, { id: credentialId });
    expect(res.data?.deleteCredential).toBe(true);
    note('credential.delete');
    expectEvent(await onlyEventOf(tenant.adminToken, res.requestId), {
      action: 'credential.delete',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: memberId,
      targetType: 'credential',
      targetId: credentialId,
      requestId: res.requestId,
      detail: {},
    });
  });

  test('credential.use: one event per chat, with key source and model; none for a chat refused before it started', async () => {
    const socket = chatWith(memberToken);
    const tenantChat = await completedChat(socket, {
      message: 'hello tenant key',
      model: 'claude-haiku-4-5',
      keySource: 'TENANT',
    });
    note('credential.use');
    const platformChat = await completedChat(socket, {
      message: 'hello platform key',
      model: 'claude-sonnet-5-5',
      keySource: 'PLATFORM',
    });
    note('credential.use');
    const refused = await runChat(socket, { message: 'no personal key', keySource: 'PERSONAL' });
    expect(errorCode(refused)).toBe('PERSONAL_KEY_MISSING');
    expect(refused.events).toEqual([]);

    const uses = await allAuditEvents(gw, tenant.adminToken, { action: 'credential.use' });
    expect(uses).toHaveLength(2);

    const tenantUse = await onlyEventOf(tenant.adminToken, tenantChat.started.requestId!);
    expectEvent(tenantUse, {
      action: 'credential.use',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: memberId,
      targetType: 'credential',
      targetId: tenantCredentialId,
      requestId: tenantChat.started.requestId,
      detail: { keySource: 'TENANT', model: 'claude-haiku-4-5', provider: 'ANTHROPIC' },
    });
    const platformUse = await onlyEventOf(tenant.adminToken, platformChat.started.requestId!);
    expectEvent(platformUse, {
      action: 'credential.use',
      outcome: 'SUCCESS',
      actorId: memberId,
      targetType: 'platform_key',
      targetId: null,
      requestId: platformChat.started.requestId,
      detail: { keySource: 'PLATFORM', model: 'claude-sonnet-5-5', provider: 'ANTHROPIC' },
    });
  });

  test('datakey.rotate: one SUCCESS event with the new version', async () => {
    const res = await act(tenant.adminToken, ROTATE_DATA_KEY);
    expect(res.data?.rotateDataKey.dataKeyVersion).toBe(2);
    note('datakey.rotate');
    expectEvent(await onlyEventOf(tenant.adminToken, res.requestId), {
      action: 'datakey.rotate',
      outcome: 'SUCCESS',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'tenant',
      targetId: tenant.tenantId,
      requestId: res.requestId,
      detail: { version: 2, keyring: 'local' },
    });
  });

  test('access.denied: a MEMBER calling createUser gives one DENIED event and no user.create', async () => {
    const res = await act(memberToken, CREATE_USER, { input: { email: uniqueEmail('nope'), role: 'MEMBER' } });
    expect(errorCode(res)).toBe('FORBIDDEN');
    note('access.denied');
    expectEvent(await onlyEventOf(tenant.adminToken, res.requestId), {
      action: 'access.denied',
      outcome: 'DENIED',
      tenantId: tenant.tenantId,
      actorId: memberId,
      targetType: 'operation',
      targetId: 'Mutation.createUser',
      requestId: res.requestId,
      detail: { role: 'MEMBER', code: 'FORBIDDEN' },
    });
  });

  test("another tenant's objects: NOT_FOUND to the client, a DENIED event in the caller's chain, nothing in theirs", async () => {
    const theirToken = await ok(gw, other.adminToken, ISSUE_TOKEN, { input: { name: uniqueName('theirs') } });
    secret(theirToken.issueApiToken.token);
    const theirTokenId = theirToken.issueApiToken.apiToken.id;
    const theirKey = secret(providerKey(Provider.ANTHROPIC));
    const theirCredential = await ok(gw, other.adminToken, SET_CREDENTIAL, {
      input: { provider: 'ANTHROPIC', scope: 'TENANT', apiKey: theirKey, validate: false },
    });
    const theirCredentialId = theirCredential.setCredential.id;
    const theirChainBefore = await allAuditEvents(gw, other.adminToken);

    const revoke = await act(tenant.adminToken, REVOKE_TOKEN, { id: theirTokenId });
    expect(errorCode(revoke)).toBe('NOT_FOUND');
    note('token.revoke');
    expectEvent(await onlyEventOf(tenant.adminToken, revoke.requestId), {
      action: 'token.revoke',
      outcome: 'DENIED',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'api_token',
      targetId: theirTokenId,
      requestId: revoke.requestId,
      detail: { code: 'NOT_FOUND' },
    });

    const del = await act(tenant.adminToken, DELETE_CREDENTIAL, { id: theirCredentialId });
    expect(errorCode(del)).toBe('NOT_FOUND');
    note('credential.delete');
    expectEvent(await onlyEventOf(tenant.adminToken, del.requestId), {
      action: 'credential.delete',
      outcome: 'DENIED',
      tenantId: tenant.tenantId,
      actorId: tenant.adminId,
      targetType: 'credential',
      targetId: theirCredentialId,
      requestId: del.requestId,
      detail: { code: 'NOT_FOUND' },
    });

    // Their chain did not move, and their token still works.
    expect(await allAuditEvents(gw, other.adminToken)).toEqual(theirChainBefore);
    expect((await post(gw, theirToken.issueApiToken.token, ME)).errors).toBeUndefined();
  });
});

describe('global and platform actions', () => {
  test('auth.failed with an unknown or malformed token: one DENIED event in the global chain, visible to no tenant', async () => {
    for (const [authorization, reason] of [
      [`Bearer ${secret(generateBearerToken())}`, 'unknown'],
      ['Bearer not-a-keyward-token', 'malformed'],
    ] as const) {
      const res = await post(gw, undefined, ME, undefined, { authorization });
      expect(errorCode(res)).toBe('UNAUTHENTICATED');
      const rows = await sql('select * from audit_events where request_id = $1', [res.requestId]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        chain: 'global',
        tenant_id: null,
        actor_id: null,
        action: 'auth.failed',
        outcome: 'DENIED',
        target_type: null,
        target_id: null,
        request_id: res.requestId,
      });
      expect(rows[0].ip).toMatch(LOOPBACK);
      expect(JSON.parse(rows[0].detail)).toEqual({ reason });
      expect(leaks(JSON.stringify(rows[0]), secrets)).toEqual([]);

      // Not in any tenant's view: neither the tenant's nor the platform admin's own chain has it.
      for (const token of [tenant.adminToken, gw.platformToken]) {
        const visible = await allAuditEvents(gw, token, { action: 'auth.failed' });
        expect(visible.filter((event) => event.requestId === res.requestId)).toEqual([]);
      }
    }
  });

  test('tenant.create: one event in the platform chain, and datakey.create as the only event of the new chain', async () => {
    const name = uniqueName('audit-created');
    const res = await act(gw.platformToken, CREATE_TENANT, { input: { name, adminEmail: uniqueEmail('admin') } });
    expect(res.errors).toBeUndefined();
    const created = res.data!.createTenant;
    secret(created.token);

    expectEvent(
      await onlyEventOf(gw.platformToken, res.requestId, { action: 'tenant.create', targetId: created.tenant.id }),
      {
        action: 'tenant.create',
        outcome: 'SUCCESS',
        tenantId: platformTenantId,
        actorId: platformAdminId,
        targetType: 'tenant',
        targetId: created.tenant.id,
        requestId: res.requestId,
        detail: { name, adminId: created.admin.id },
      },
    );
    expect(
      await allAuditEvents(gw, gw.platformToken, { action: 'tenant.create', targetId: created.tenant.id }),
    ).toHaveLength(1);

    const newChain = await allAuditEvents(gw, created.token);
    expect(newChain).toHaveLength(1);
    checkedEvents.push(newChain[0]);
    expectEvent(newChain[0], {
      seq: 1,
      action: 'datakey.create',
      outcome: 'SUCCESS',
      tenantId: created.tenant.id,
      actorId: platformAdminId,
      targetType: 'tenant',
      targetId: created.tenant.id,
      requestId: res.requestId,
      detail: { version: 1, keyring: 'local' },
    });

    // tenant.delete: one SUCCESS event; the trail of the deleted tenant survives and still verifies.
    const del = await act(gw.platformToken, DELETE_TENANT, { id: created.tenant.id });
    expect(del.data?.deleteTenant).toBe(true);
    expectEvent(
      await onlyEventOf(gw.platformToken, del.requestId, { action: 'tenant.delete', targetId: created.tenant.id }),
      {
        action: 'tenant.delete',
        outcome: 'SUCCESS',
        tenantId: platformTenantId,
        actorId: platformAdminId,
        targetType: 'tenant',
        targetId: created.tenant.id,
        requestId: del.requestId,
        detail: {},
      },
    );
    const trail = await allAuditEvents(gw, gw.platformToken, { tenantId: created.tenant.id });
    expect(trail.map((event) => event.id)).toEqual([newChain[0].id]);
    const verified = await ok(gw, gw.platformToken, VERIFY_AUDIT_LOG_OF, { tenantId: created.tenant.id });
    expect(verified.verifyAuditLog).toEqual({ ok: true, checked: 1, firstBrokenSeq: null });

    // Deleting it again: NOT_FOUND, recorded as a DENIED tenant.delete.
    const again = await act(gw.platformToken, DELETE_TENANT, { id: created.tenant.id });
    expect(errorCode(again)).toBe('NOT_FOUND');
    expectEvent(
      await onlyEventOf(gw.platformToken, again.requestId, { action: 'tenant.delete', targetId: created.tenant.id }),
      {
        action: 'tenant.delete',
        outcome: 'DENIED',
        targetId: created.tenant.id,
        detail: { code: 'NOT_FOUND' },
      },
    );
    expect(
      await allAuditEvents(gw, gw.platformToken, { action: 'tenant.delete', targetId: created.tenant.id }),
    ).toHaveLength(2);
  });

  test('datakey.rewrap: one SUCCESS event in the platform chain with the number re-wrapped', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const res = await act(gw.platformToken, REWRAP_DATA_KEYS);
    expect(res.errors).toBeUndefined();
    // Only keys wrapped under another master key are re-wrapped: usually none here, but always a count.
    const count = res.data!.rewrapDataKeys as number;
    expect(Number.isInteger(count) && count >= 0).toBe(true);
    expectEvent(await onlyEventOf(gw.platformToken, res.requestId, { action: 'datakey.rewrap', since }), {
      action: 'datakey.rewrap',
      outcome: 'SUCCESS',
      tenantId: platformTenantId,
      actorId: platformAdminId,
      targetType: 'keyring',
      targetId: 'local',
      requestId: res.requestId,
      detail: { rewrapped: count },
    });
    // Nothing was written to any tenant chain by that request, only to the platform's.
    expect(await sql('select chain from audit_events where request_id = $1', [res.requestId])).toEqual([
      { chain: platformTenantId },
    ]);
  });
});

describe('the whole chain', () => {
  test('holds exactly one event per action performed, verifies, and carries no secret', async () => {
    const chain = await allAuditEvents(gw, tenant.adminToken);
    const counts = new Map<string, number>();
    for (const event of chain) counts.set(event.action, (counts.get(event.action) ?? 0) + 1);
    // createTenantWithAdmin wrote datakey.create; everything else was counted as it was done.
    expect(Object.fromEntries([...counts].sort())).toEqual(
      Object.fromEntries([...performed, ['datakey.create', 1]].sort()),
    );
    for (const action of performed.keys()) {
      expect(await allAuditEvents(gw, tenant.adminToken, { action })).toHaveLength(performed.get(action)!);
    }
    // seqs 1..n, newest first.
    expect(chain.map((event) => event.seq)).toEqual(Array.from({ length: chain.length }, (_, i) => chain.length - i));
    expect((await ok(gw, tenant.adminToken, VERIFY_AUDIT_LOG)).verifyAuditLog).toEqual({
      ok: true,
      checked: chain.length,
      firstBrokenSeq: null,
    });
    expect(secrets.size).toBeGreaterThan(10);
    expect(leaks(JSON.stringify([...chain, ...checkedEvents]), secrets)).toEqual([]);
    // The chat key and the platform key never reached the table at all.
    const raw = await sql('select * from audit_events where chain = $1', [tenant.tenantId]);
    expect(leaks(JSON.stringify(raw), secrets)).toEqual([]);
  });
});
