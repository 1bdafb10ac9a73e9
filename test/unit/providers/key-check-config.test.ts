import { ConfigError, loadConfig } from '../../../src/config';
import { parseScopes } from '../../../src/providers/github/github-key-check';
import { endpoint } from '../../../src/providers/http-key-check';

const BASE = { KEYWARD_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };

test('GITHUB_API_URL and LINEAR_API_URL default to the public APIs and must be http(s) URLs', () => {
  expect(loadConfig(BASE)).toMatchObject({
    githubApiUrl: 'https://api.github.com',
    linearApiUrl: 'https://api.linear.app',
  });
  expect(
    loadConfig({ ...BASE, GITHUB_API_URL: 'https://ghe.example.test/api/v3', LINEAR_API_URL: 'http://127.0.0.1:9' }),
  ).toMatchObject({ githubApiUrl: 'https://ghe.example.test/api/v3', linearApiUrl: 'http://127.0.0.1:9' });
  for (const name of ['GITHUB_API_URL', 'LINEAR_API_URL']) {
    expect(() => loadConfig({ ...BASE, [name]: 'ftp://example.test' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...BASE, [name]: 'not a url' })).toThrow(`${name} must be an http:// or https:// URL`);
  }
});

test('check endpoints keep a base path (GitHub Enterprise Server) with or without a trailing slash', () => {
  expect(endpoint('https://api.github.com', 'user')).toBe('https://api.github.com/user');
  expect(endpoint('https://ghe.example.test/api/v3', 'user')).toBe('https://ghe.example.test/api/v3/user');
  expect(endpoint('https://ghe.example.test/api/v3/', 'user')).toBe('https://ghe.example.test/api/v3/user');
  expect(endpoint('https://api.linear.app', 'graphql')).toBe('https://api.linear.app/graphql');
});

test("GitHub's X-OAuth-Scopes header becomes a list of scope names; anything else in it is dropped", () => {
  expect(parseScopes('repo, read:org, admin:repo_hook')).toEqual(['repo', 'read:org', 'admin:repo_hook']);
  expect(parseScopes('')).toEqual([]);
  expect(parseScopes('repo, <script>, gist')).toEqual(['repo', 'gist']);
  expect(parseScopes(Array.from({ length: 80 }, (_, i) => `s${i}`).join(', '))).toHaveLength(50);
});
