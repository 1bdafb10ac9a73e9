import { ConfigError, loadConfig } from '../../src/config';

const BASE = { KEYWARD_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('hardening configuration', () => {
  it("has GraphQL Armor's defaults (cost raised, see query-limits.ts) and 1 MiB / 10 s / 12 s transport limits", () => {
    const config = loadConfig(BASE);
    expect(config.queryLimits).toEqual({
      maxDepth: 6,
      maxAliases: 15,
      maxDirectives: 50,
      maxTokens: 1000,
      maxCost: 50_000,
    });
    expect(config.maxBodyBytes).toBe(1024 * 1024);
    expect(config.webSocket).toEqual({
      maxPayloadBytes: 1024 * 1024,
      initTimeoutMs: 10_000,
      keepAliveMs: 12_000,
      allowedOrigins: undefined,
      maxUnauthenticatedPerIp: 128,
      maxUnauthenticatedTotal: 2048,
      unauthenticatedTimeoutMs: 30_000,
    });
    expect(config.trustProxy).toBe(false);
  });

  it('turns introspection off by default in production only, and lets KEYWARD_INTROSPECTION decide', () => {
    expect(loadConfig(BASE).introspection).toBe(true);
    expect(loadConfig({ ...BASE, NODE_ENV: 'production' }).introspection).toBe(false);
    expect(loadConfig({ ...BASE, NODE_ENV: 'production', KEYWARD_INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(loadConfig({ ...BASE, KEYWARD_INTROSPECTION: 'false' }).introspection).toBe(false);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      ...BASE,
      KEYWARD_MAX_DEPTH: '8',
      KEYWARD_MAX_ALIASES: '3',
      KEYWARD_MAX_DIRECTIVES: '4',
      KEYWARD_MAX_TOKENS: '500',
      KEYWARD_MAX_COST: '900',
      KEYWARD_MAX_BODY_BYTES: '4096',
      KEYWARD_WS_MAX_PAYLOAD_BYTES: '8192',
      KEYWARD_WS_INIT_TIMEOUT_MS: '2500',
      KEYWARD_WS_KEEPALIVE_MS: '30000',
      KEYWARD_ALLOWED_ORIGINS: ' https://app.example.com/ ,http://localhost:5173,https://APP.example.com',
      KEYWARD_WS_MAX_UNAUTHENTICATED_PER_IP: '2',
      KEYWARD_WS_MAX_UNAUTHENTICATED_TOTAL: '20',
      KEYWARD_WS_UNAUTHENTICATED_TIMEOUT_MS: '5000',
      KEYWARD_TRUST_PROXY: 'loopback, 10.0.0.0/8',
    });
    expect(config.queryLimits).toEqual({ maxDepth: 8, maxAliases: 3, maxDirectives: 4, maxTokens: 500, maxCost: 900 });
    expect(config.maxBodyBytes).toBe(4096);
    expect(config.webSocket).toEqual({
      maxPayloadBytes: 8192,
      initTimeoutMs: 2500,
      keepAliveMs: 30_000,
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      maxUnauthenticatedPerIp: 2,
      maxUnauthenticatedTotal: 20,
      unauthenticatedTimeoutMs: 5000,
    });
    expect(config.trustProxy).toEqual(['loopback', '10.0.0.0/8']);
  });

  it('reads KEYWARD_TRUST_PROXY in Express syntax: true, false, a hop count or a list', () => {
    const trust = (value: string) => loadConfig({ ...BASE, KEYWARD_TRUST_PROXY: value }).trustProxy;
    expect(trust('false')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('1')).toBe(1);
    expect(trust('uniquelocal,192.0.2.1, fd00::/8')).toEqual(['uniquelocal', '192.0.2.1', 'fd00::/8']);
  });

  it.each([
    ['KEYWARD_MAX_DEPTH', '0'],
    ['KEYWARD_MAX_ALIASES', '-1'],
    ['KEYWARD_MAX_DIRECTIVES', '2.5'],
    ['KEYWARD_MAX_TOKENS', 'many'],
    ['KEYWARD_MAX_COST', '0'],
    ['KEYWARD_MAX_BODY_BYTES', '1mb'],
    ['KEYWARD_WS_MAX_PAYLOAD_BYTES', '0'],
    ['KEYWARD_WS_INIT_TIMEOUT_MS', '-5'],
    ['KEYWARD_WS_KEEPALIVE_MS', 'often'],
    ['KEYWARD_INTROSPECTION', 'yes'],
    ['KEYWARD_ALLOWED_ORIGINS', '*'],
    ['KEYWARD_ALLOWED_ORIGINS', 'https://ok.example,ftp://files.example'],
    ['KEYWARD_ALLOWED_ORIGINS', 'https://ok.example,,https://other.example'],
    ['KEYWARD_TRUST_PROXY', 'everyone'],
    ['KEYWARD_TRUST_PROXY', '10.0.0.0/99'],
    ['KEYWARD_TRUST_PROXY', 'loopback,,10.0.0.1'],
    ['KEYWARD_WS_MAX_UNAUTHENTICATED_PER_IP', '0'],
    ['KEYWARD_WS_MAX_UNAUTHENTICATED_TOTAL', 'lots'],
    ['KEYWARD_WS_UNAUTHENTICATED_TIMEOUT_MS', '-1'],
  ])('refuses %s=%s, naming the variable but not echoing the value', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name} `));
    expect(problems[0].slice(name.length)).not.toContain(value);
  });
});
