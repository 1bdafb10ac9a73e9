import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  chatTenant,
  startChatEnvironment,
  uniqueText,
  type ChatEnvironment,
  type ChatTenant,
} from '../support/chat-harness';
import { anthropicKey, createMember, storeAnthropicKey } from '../support/fixtures';
import { ROOT } from '../support/gateway-process';

/**
 * The README's graphql-ws example is examples/chat.ts, run here as a reader would run it
 * (`npx tsx examples/chat.ts …`) against a real gateway: it must print the reply, and every kind
 * of failure in words with a non-zero exit.
 */

const EXAMPLE = resolve(ROOT, 'examples/chat.ts');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');

interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const runExample = (env: Record<string, string>, message: string): Promise<ExampleRun> =>
  runCommand(TSX, [EXAMPLE, message], env);

function runCommand(command: string, args: string[], env: Record<string, string> = {}): Promise<ExampleRun> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

let env: ChatEnvironment;
let tenant: ChatTenant;
let wsUrl: string;

beforeAll(async () => {
  env = await startChatEnvironment();
  tenant = await chatTenant(env.gw);
  wsUrl = env.gw.wsUrl;
});

afterAll(async () => {
  await env?.stop();
});

test('the README shows examples/chat.ts as it is', () => {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const example = readFileSync(EXAMPLE, 'utf8');
  expect(readme).toContain('```ts\n' + example + '```');
});

test("the README's first session, run by bash, creates a tenant and stores its key with the admin token", async () => {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const session = readme.slice(readme.indexOf('## A first GraphQL session'));
  const script = /```sh\n([\s\S]*?)```/.exec(session)![1];
  const tenantKey = anthropicKey();
  const adminEmail = `ada-${uniqueText('').trim()}@acme.test`;
  const runnable = script
    .replace('kw_...', env.gw.platformToken)
    .replace('http://127.0.0.1:4000/graphql', env.gw.url)
    .replace('"Acme"', JSON.stringify(uniqueText('Acme')))
    .replace('ada@acme.test', adminEmail)
    .replace('sk-ant-...', tenantKey);
  const run = await runCommand('bash', ['-euo', 'pipefail', '-c', runnable]);
  expect(run.code).toBe(0);
  const [me, adminToken, stored] = run.stdout.trim().split('\n');
  expect(JSON.parse(me).data.me.role).toBe('PLATFORM_ADMIN');
  expect(adminToken).toMatch(/^kw_[A-Za-z0-9_-]{43}$/);
  expect(JSON.parse(stored).data.setCredential.last4).toBe(tenantKey.slice(-4));
});

test('prints the streamed reply and its usage', async () => {
  await storeAnthropicKey(env.gw, tenant.member.token, 'PERSONAL', anthropicKey());
  const message = uniqueText('readme');
  const run = await runExample({ TOKEN: tenant.member.token, KEYWARD_WS_URL: wsUrl }, message);
  expect(run.code).toBe(0);
  expect(run.stdout).toBe(`Echo: ${message}\n`);
  expect(run.stderr).toMatch(/\[claude-haiku-4-5 on the PERSONAL key, request [0-9a-f-]{36}\]/);
  expect(run.stderr).toMatch(/\[end_turn: \d+ in, \d+ out, \$[0-9.e-]+\]/);
});

test('prints an error raised before the stream starts', async () => {
  const member = await createMember(env.gw, tenant.adminToken, 'MEMBER');
  const run = await runExample({ TOKEN: member.token, KEYWARD_WS_URL: wsUrl, KEY_SOURCE: 'PERSONAL' }, uniqueText());
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^PERSONAL_KEY_MISSING: /m);
});

test('prints an unknown token as UNAUTHENTICATED', async () => {
  const run = await runExample({ TOKEN: `kw_${'x'.repeat(43)}`, KEYWARD_WS_URL: wsUrl }, uniqueText());
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/UNAUTHENTICATED|connection closed \(44\d\d/);
});

test('prints ChatFailed with its code', async () => {
  const member = await createMember(env.gw, tenant.adminToken, 'MEMBER');
  const rejected = anthropicKey();
  env.anthropic.rejectKey(rejected, 401);
  await storeAnthropicKey(env.gw, member.token, 'PERSONAL', rejected);
  const run = await runExample({ TOKEN: member.token, KEYWARD_WS_URL: wsUrl }, uniqueText());
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/^INVALID_PROVIDER_KEY: /m);
});

test('says what to set when TOKEN is missing', async () => {
  const run = await runExample({ KEYWARD_WS_URL: wsUrl }, uniqueText());
  expect(run.code).toBe(1);
  expect(run.stderr).toContain('Set TOKEN');
});
