import { randomUUID } from 'node:crypto';
import { AUDIT_EVENTS, type AuditEventView, type AuditFilterArgs, type AuditPage } from './documents';
import type { TestGateway } from './gateway';
import { post, succeeded, type GraphQLResponse } from './graphql-client';

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
