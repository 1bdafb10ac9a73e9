import { randomBytes } from 'node:crypto';
import type WebSocket from 'ws';
import { scrape, type MetricsSnapshot } from '../support/chat-metrics';
import { initializedSocket } from '../hardening/helpers';
import { startSharedGateway, type TestGateway } from '../support/gateway';
import { gql } from '../support/graphql-client';

/**
 * docs/operations.md "Metrics" and "Logs": the `operation` label takes its values from a bounded
 * set, and no client-chosen text is logged beyond a short bound, whatever clients send.
 */

const MESSAGES = 300;
const LABEL_LENGTH = 64;
const DISTINCT_NAMES = 200;
const FIXED_LABELS = ['invalid', 'unauthenticated', 'anonymous', 'other'];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startSharedGateway();
});
afterAll(() => gw?.stop());

/** A unique operation name of about 10 KB. */
const hugeName = (): string => `Op${randomBytes(5_000).toString('hex')}`;

const operationLabels = (snapshot: MetricsSnapshot): Set<string> =>
  new Set(
    snapshot.samples
      .filter(
        (sample) => sample.name === 'keyward_graphql_requests_total' || sample.name === 'keyward_graphql_errors_total',
      )
      .map((sample) => sample.labels.operation),
  );

/** Sends `MESSAGES` subscribe messages on one socket and waits for each one's answer. */
async function subscribeMany(socket: WebSocket, payload: () => Record<string, unknown>): Promise<void> {
  let answered = 0;
  const done = new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'error' || message.type === 'complete') answered += 1;
      if (answered === MESSAGES) resolve();
    });
    socket.once('close', (code) => reject(new Error(`socket closed with ${code}`)));
  });
  for (let i = 0; i < MESSAGES; i++)
    socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: payload() }));
  await done;
}

/** Runs `send` and returns the log lines it added, once `expected` operation lines are in. */
async function linesAddedBy(send: () => Promise<void>, expected: number): Promise<string[]> {
  const from = gw.logs.lines.length;
  await send();
  const deadline = Date.now() + 10_000;
  const operationLines = () => gw.logs.lines.slice(from).filter((line) => line.includes('"graphql operation"')).length;
  while (operationLines() < expected) {
    if (Date.now() > deadline) throw new Error(`only ${operationLines()} of ${expected} operation lines were logged`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return gw.logs.lines.slice(from);
}

function expectBoundedLines(lines: string[], names: string[]): void {
  expect(lines.filter((line) => line.length > 1_000)).toEqual([]);
  // Not even a long piece of a name: at most the logged bound of it.
  const pieces = names.map((name) => name.slice(LABEL_LENGTH, LABEL_LENGTH + 40));
  expect(lines.filter((line) => pieces.some((piece) => line.includes(piece)))).toEqual([]);
}

function expectBoundedLabels(snapshot: MetricsSnapshot, names: string[]): void {
  const labels = operationLabels(snapshot);
  expect([...labels].filter((label) => label.length > LABEL_LENGTH)).toEqual([]);
  expect(labels.size).toBeLessThanOrEqual(DISTINCT_NAMES + FIXED_LABELS.length);
  expect(names.filter((name) => snapshot.text.includes(name.slice(0, LABEL_LENGTH + 1)))).toEqual([]);
}

/** These send over a thousand requests one after another; a loaded CI machine needs more than jest's default. */
const HEAVY_TEST_TIMEOUT_MS = 120_000;

test(
  '300 WebSocket subscribe messages with `{` and unique 10 KB operation names, without and with a token',
  async () => {
    const before = await scrape(gw.url);
    for (const token of [undefined, gw.platformToken]) {
      const names: string[] = [];
      const socket = await initializedSocket(gw, token);
      const lines = await linesAddedBy(
        () =>
          subscribeMany(socket, () => {
            names.push(hugeName());
            return { query: '{', operationName: names[names.length - 1] };
          }),
        MESSAGES,
      );
      socket.close();
      expectBoundedLines(lines, names);
      const after = await scrape(gw.url);
      expectBoundedLabels(after, names);
      expect(
        after.value('keyward_graphql_requests_total', { operation: 'invalid', transport: 'ws' }),
      ).toBeGreaterThanOrEqual(MESSAGES);
    }
    // Two series more at most (ws/invalid/error and its error code), not one per name.
    expect((await scrape(gw.url)).text.length - before.text.length).toBeLessThan(20_000);
  },
  HEAVY_TEST_TIMEOUT_MS,
);

test(
  'over HTTP: invalid documents and unauthenticated operations share fixed labels; names are bounded in length and number',
  async () => {
    const before = await scrape(gw.url);
    const names: string[] = [];
    const send = async (query: (name: string) => string, token?: string, operationName = true) => {
      for (let i = 0; i < MESSAGES; i++) {
        const name = hugeName();
        names.push(name);
        const res = await fetch(gw.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query: query(name), ...(operationName ? { operationName: name } : {}) }),
        });
        await res.text();
      }
    };
    const lines = await linesAddedBy(async () => {
      await send(() => '{');
      await send(() => '{', gw.platformToken);
      // Valid documents, named, without a token: no name becomes a label.
      await send((name) => `query ${name} { __typename }`);
      // Valid and authenticated, but too long to be a label.
      await send((name) => `query ${name} { __typename }`, gw.platformToken);
    }, 4 * MESSAGES);
    expectBoundedLines(lines, names);

    // Short unique names from an authenticated caller: the first ones become labels, up to the bound.
    const shortNames = Array.from({ length: MESSAGES }, (_, i) => `Short${i}_${randomBytes(4).toString('hex')}`);
    for (const name of shortNames) await gql(gw.url, `query ${name} { __typename }`, undefined, gw.platformToken);

    const after = await scrape(gw.url);
    expectBoundedLabels(after, names);
    const delta = (operation: string) =>
      after.value('keyward_graphql_requests_total', { operation, transport: 'http' }) -
      before.value('keyward_graphql_requests_total', { operation, transport: 'http' });
    expect(delta('invalid')).toBe(2 * MESSAGES);
    expect(delta('unauthenticated')).toBe(MESSAGES);
    expect(delta('other')).toBeGreaterThanOrEqual(MESSAGES + (MESSAGES - DISTINCT_NAMES));
    expect(shortNames.filter((name) => operationLabels(after).has(name)).length).toBeLessThanOrEqual(DISTINCT_NAMES);
    expect(operationLabels(after).has(shortNames[0])).toBe(true);
  },
  HEAVY_TEST_TIMEOUT_MS,
);
