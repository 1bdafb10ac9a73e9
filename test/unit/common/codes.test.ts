import {
  AUTO_RETRIED_CODES,
  ChatFailedCode,
  CODES,
  codesArising,
  ErrorCode,
  isRetryable,
  type Code,
} from '../../../src/common/codes';

const allCodes = Object.keys(CODES) as Code[];

describe('the code catalogue', () => {
  test.each(allCodes)('%s has a one-line meaning and says where it arises', (code) => {
    const { meaning, arises } = CODES[code];
    expect(meaning).toMatch(/^[^\n|]+$/);
    expect(arises.length).toBeGreaterThan(0);
  });

  test('ErrorCode holds the GraphQL codes and ChatFailedCode the stream codes, each as its own name', () => {
    expect(Object.keys(ErrorCode).sort()).toEqual([...codesArising('resolver'), ...codesArising('request')].sort());
    expect(Object.keys(ChatFailedCode).sort()).toEqual(codesArising('stream').sort());
    for (const [name, value] of [...Object.entries(ErrorCode), ...Object.entries(ChatFailedCode)])
      expect(value).toBe(name);
  });

  test('every code arises somewhere a client sees it', () => {
    expect(new Set([...Object.keys(ErrorCode), ...Object.keys(ChatFailedCode)])).toEqual(new Set(allCodes));
  });

  test('the gateway retries only stream codes that are retryable: rate-limited and overloaded', () => {
    expect([...AUTO_RETRIED_CODES].sort()).toEqual(['UPSTREAM_OVERLOADED', 'UPSTREAM_RATE_LIMITED']);
    for (const code of AUTO_RETRIED_CODES) expect(isRetryable(code)).toBe(true);
  });

  test('a request no resolver saw never ends a chat stream', () => {
    for (const code of codesArising('request')) expect(codesArising('stream')).not.toContain(code);
  });
});
