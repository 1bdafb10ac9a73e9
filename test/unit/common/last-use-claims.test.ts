import { LAST_USED_RESOLUTION_MS, LastUseClaims } from '../../../src/common/last-use-claims';

const t0 = Date.parse('2026-12-03T12:00:00Z');

test('a row never used, or used over a minute ago, is due once; the claim holds for a minute', () => {
  const claims = new LastUseClaims();
  expect(claims.claim('a', null, t0)).toBe(true);
  expect(claims.claim('a', null, t0 + 1)).toBe(false);
  expect(claims.claim('a', null, t0 + LAST_USED_RESOLUTION_MS)).toBe(false);
  expect(claims.claim('a', null, t0 + LAST_USED_RESOLUTION_MS + 1)).toBe(true);
  expect(claims.claim('b', new Date(t0 - LAST_USED_RESOLUTION_MS - 1), t0)).toBe(true);
});

test('a recent stored value (another replica wrote it) is not due', () => {
  const claims = new LastUseClaims();
  expect(claims.claim('a', new Date(t0 - 1_000), t0)).toBe(false);
});

test('a forgotten claim (its write failed) lets the next use try again', () => {
  const claims = new LastUseClaims();
  expect(claims.claim('a', null, t0)).toBe(true);
  claims.forget('a');
  expect(claims.claim('a', null, t0 + 1)).toBe(true);
});
