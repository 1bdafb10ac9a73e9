import { randomUUID } from 'node:crypto';
import { AUDIT_EVENTS, type AuditEventView, type AuditFilterArgs, type AuditPage } from './documents';
import type { TestGateway } from './gateway';
import { post, succeeded, type GraphQLResponse } from './graphql-client';
import { sql } from './sql';

/** Reading the audit log through the API (test/audit). */

/** A fresh request id a client may send as X-Request-Id (8-100 plain characters). */
export const newRequestId = (prefix = 'audit-test'): string => `${prefix}-${randomUUID()}`;

// ---------------------------------------------------------------------------------------------
// Audit queries

export function auditPage(
  gw: Pick<TestGateway, 'url'>,
  token: string,
  args: { filter?: AuditFilterArgs; first?: number; after?: string | null } = {},
): Promise<GraphQLResponse<{ auditEvents: AuditPage }>> {
  return post(gw, token, AUDIT_EVENTS, {
    filter: args.filter ?? null,
    ...(args.first === undefined ? {} : { first: args.first }),
    after: args.after ?? null,
  });
}

/** Every event the filter selects, newest first, walking all pages. */
export async function allAuditEvents(
  gw: Pick<TestGateway, 'url'>,
  token: string,
  filter: AuditFilterArgs = {},
  pageSize = 500,
): Promise<AuditEventView[]> {
  const events: AuditEventView[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const page: AuditPage = succeeded(await auditPage(gw, token, { filter, first: pageSize, after })).data.auditEvents;
    events.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return events;
    after = page.pageInfo.endCursor;
  }
  throw new Error('auditEvents never reached its last page');
}

export const parseDetail = (event: AuditEventView): Record<string, unknown> | null =>
  event.detail === null ? null : (JSON.parse(event.detail) as Record<string, unknown>);

/** Whether any of `secrets` occurs in `text`. */
export const leaks = (text: string, secrets: Iterable<string>): string[] =>
  [...secrets].filter((secret) => text.includes(secret));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An audit_events row as stored, for tests that inspect or tamper with the chain in SQL. */
export type StoredEvent = {
  id: string;
  chain: string;
  seq: number;
  at: Date;
  tenant_id: string | null;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: string;
  request_id: string | null;
  ip: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
};

/** A chain's events in order, straight from the table. */
export const storedEvents = (chain: string): Promise<StoredEvent[]> =>
  sql<StoredEvent>('select * from audit_events where chain = $1 order by seq', [chain]);
