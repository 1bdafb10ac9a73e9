import { originPolicy } from '../../../../src/server/ws/origin-policy';

describe('originPolicy', () => {
  test('without a list, every origin passes', () => {
    const allowed = originPolicy(undefined);
    expect(allowed('https://evil.example')).toBe(true);
    expect(allowed(undefined)).toBe(true);
  });

  test('with a list, a listed origin passes, in any spelling of the same origin', () => {
    const allowed = originPolicy(['https://app.example.com', 'http://localhost:3000']);
    expect(allowed('https://app.example.com')).toBe(true);
    expect(allowed('https://APP.example.com:443')).toBe(true);
    expect(allowed('http://localhost:3000')).toBe(true);
  });

  test('with a list, another scheme, host or port is refused', () => {
    const allowed = originPolicy(['https://app.example.com']);
    expect(allowed('http://app.example.com')).toBe(false);
    expect(allowed('https://app.example.com:8443')).toBe(false);
    expect(allowed('https://evil.example')).toBe(false);
  });

  test('a client without an Origin header (not a browser) passes', () => {
    expect(originPolicy(['https://app.example.com'])(undefined)).toBe(true);
  });

  test('"null" and garbage are refused', () => {
    const allowed = originPolicy(['https://app.example.com']);
    expect(allowed('null')).toBe(false);
    expect(allowed('not a url')).toBe(false);
    expect(allowed('')).toBe(false);
  });
});
