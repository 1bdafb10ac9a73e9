import { serverAudits, type AuditResult } from 'graphql-http';
import { startTestGateway, type TestGateway } from '../support/gateway';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw?.stop());

/** fetch with the caller's Authorization header added to every audit request. */
const authorizedFetch =
  (token: string): typeof fetch =>
  (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };

/**
 * Known SHOULD-level gaps: Apollo answers 400 (not 200) for parse, validation and variable
 * coercion errors even to `accept: application/json` clients. Any other warning is a regression.
 */
const KNOWN_WARNINGS = new Set(['572B', 'FDE2', '7B9B']);

const describeResult = (result: AuditResult): string =>
  result.status === 'ok' ? `${result.id} ok` : `${result.id} ${result.status}: ${result.name}: ${result.reason}`;

test('the GraphQL over HTTP audits of graphql-http pass (no MUST fails)', async () => {
  const audits = serverAudits({ url: gw.url, fetchFn: authorizedFetch(gw.platformToken) });
  expect(audits.length).toBeGreaterThan(30);
  const results: AuditResult[] = [];
  for (const audit of audits) results.push(await audit.fn());

  const errors = results.filter((result) => result.status === 'error').map(describeResult);
  expect(errors).toEqual([]);
  // The audits asked real questions of this server: the basic POST ones succeeded.
  for (const id of ['2C94', '03D4', '4655', '13EE']) {
    expect(results.find((result) => result.id === id)?.status).toBe('ok');
  }
  const warnings = results.filter((result) => result.status === 'warn');
  expect(warnings.filter((result) => !KNOWN_WARNINGS.has(result.id)).map(describeResult)).toEqual([]);
});
