import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { KeySource } from '../../src/modules/credential/key-source';
import { Provider } from '../../src/modules/credential/provider';
import { startAnthropicServer, type AnthropicServer } from '../support/anthropic-server';
import { KEY_STATUS, ROTATE_DATA_KEY, TENANT } from '../support/documents';
import { createMember, createTenantWithAdmin, type TenantFixture, type UserFixture } from '../support/fixtures';
import { type TestGateway } from '../support/gateway';
import { errorCode } from '../support/graphql-client';
import { testDatabaseUrl } from '../support/sql';
import {
  providerKey,
  PROVIDERS,
  RecordingClient,
  resolveKey,
  startSharedGateway,
  userOf,
} from '../support/vault-fixtures';

/**
 * Principle 1: no plaintext key at rest, in logs or in responses. Keys of every provider and
 * both scopes are stored, replaced, rejected, rotated and used; then every text-like and binary
 * column of every table is searched for each key in every common encoding.
 */

interface Needle {
  /** Which key and which encoding, for a readable failure. */
  label: string;
  /** Searched for in text-like columns (and, as UTF-8 bytes, in bytea columns). */
  text?: string;
  /** Searched for in bytea columns only. */
  bytes?: Buffer;
}

/** base64 of `bytes` as it appears inside a longer base64 text, for each of the 3 alignments. */
function embeddedBase64(bytes: Buffer, url: boolean): string[] {
  const forms: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString(url ? 'base64url' : 'base64');
    const first = Math.ceil((8 * offset) / 6);
    const end = Math.floor((8 * (offset + bytes.length)) / 6);
    forms.push(encoded.slice(first, end));
  }
  return forms;
}

function needlesFor(name: string, key: string): Needle[] {
  const bytes = Buffer.from(key, 'utf8');
  return [
    { label: `${name} raw`, text: key },
    ...embeddedBase64(bytes, false).map((text, i) => ({ label: `${name} base64/${i}`, text })),
    ...embeddedBase64(bytes, true).map((text, i) => ({ label: `${name} base64url/${i}`, text })),
    { label: `${name} hex`, text: bytes.toString('hex') },
    { label: `${name} HEX`, text: bytes.toString('hex').toUpperCase() },
  ];
}

interface Hit {
  table: string;
  column: string;
  needle: string;
}

/**
 * Every row of every table outside the system schemas: text-like columns (text, varchar, char,
 * json, jsonb, arrays of those) are searched as strings; bytea columns as bytes, both for the
 * raw key bytes and for each textual encoding stored as bytes.
 */
async function scanDatabase(url: string, needles: Needle[]): Promise<{ hits: Hit[]; columns: number; rows: number }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: columns } = await client.query<{
      table_schema: string;
      table_name: string;
      column_name: string;
      data_type: string;
      udt_name: string;
    }>(
      `select c.table_schema, c.table_name, c.column_name, c.data_type, c.udt_name
         from information_schema.columns c
         join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        where t.table_type = 'BASE TABLE'
          and c.table_schema not in ('pg_catalog', 'information_schema') and c.table_schema not like 'pg_toast%'
          and (c.data_type in ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb')
               or (c.data_type = 'ARRAY' and c.udt_name in ('_text', '_varchar', '_bpchar', '_json', '_jsonb', '_bytea')))
        order by 1, 2, 3`,
    );
    const byTable = new Map<string, typeof columns>();
    for (const column of columns) {
      const table = `"${column.table_schema}"."${column.table_name}"`;
      byTable.set(table, [...(byTable.get(table) ?? []), column]);
    }
    const hits: Hit[] = [];
    let rowCount = 0;
    const needleBytes = needles.map((needle) => ({ needle, bytes: needle.bytes ?? Buffer.from(needle.text!, 'utf8') }));
    for (const [table, tableColumns] of byTable) {
      const select = tableColumns
        .map((column, i) =>
          column.data_type === 'bytea' ? `"${column.column_name}" as c${i}` : `"${column.column_name}"::text as c${i}`,
        )
        .join(', ');
      const { rows } = await client.query<Record<string, string | Buffer | null>>(`select ${select} from ${table}`);
      rowCount += rows.length;
      for (const row of rows) {
        tableColumns.forEach((column, i) => {
          const value = row[`c${i}`];
          if (value === null || value === undefined) return;
          if (Buffer.isBuffer(value)) {
            for (const { needle, bytes } of needleBytes) {
              if (value.includes(bytes)) hits.push({ table, column: column.column_name, needle: needle.label });
            }
          } else {
            for (const needle of needles) {
              if (needle.text !== undefined && value.includes(needle.text))
                hits.push({ table, column: column.column_name, needle: needle.label });
            }
          }
        });
      }
    }
    return { hits, columns: columns.length, rows: rowCount };
  } finally {
    await client.end();
  }
}

let anthropic: AnthropicServer;
let gw: TestGateway;
let client: RecordingClient;

beforeAll(async () => {
  anthropic = await startAnthropicServer();
  gw = await startSharedGateway({ env: { ANTHROPIC_BASE_URL: anthropic.baseURL } });
  client = new RecordingClient(gw);
});

afterAll(async () => {
  await gw?.stop();
  await anthropic?.close();
});

test('the scanner finds what is there: bytes in a bytea column, text in text columns, encoded forms', async () => {
  const tenant = await createTenantWithAdmin(gw, 'plain-probe');
  const label = `label-${randomBytes(6).toString('hex')}`;
  const stored = await client.storeCredential(tenant.adminToken, {
    provider: 'OPENAI',
    scope: 'TENANT',
    apiKey: providerKey(Provider.OPENAI),
    label,
  });
  const db = new Client({ connectionString: testDatabaseUrl() });
  await db.connect();
  const { ciphertext } = (
    await db.query<{ ciphertext: Buffer }>('select ciphertext from credentials where id = $1', [stored.id])
  ).rows[0];
  await db.end();

  const { hits, columns, rows } = await scanDatabase(testDatabaseUrl(), [
    { label: 'ciphertext slice', bytes: ciphertext.subarray(21, 37) },
    { label: 'tenant name', text: tenant.tenantName },
    { label: 'credential label', text: label },
    // The same forms as for keys, on a value stored in clear: its raw form must be found.
    ...needlesFor('label', label),
  ]);
  expect(columns).toBeGreaterThan(10);
  expect(rows).toBeGreaterThan(5);
  expect(hits).toEqual(
    expect.arrayContaining([
      { table: '"public"."credentials"', column: 'ciphertext', needle: 'ciphertext slice' },
      { table: '"public"."tenants"', column: 'name', needle: 'tenant name' },
      { table: '"public"."credentials"', column: 'label', needle: 'credential label' },
      { table: '"public"."credentials"', column: 'label', needle: 'label raw' },
    ]),
  );
  // Every embedded-base64 alignment really matches the encoding of a longer text.
  const word = `k-${randomBytes(9).toString('hex')}`;
  for (const prefix of ['', 'x', 'xy']) {
    const encoded = Buffer.from(`${prefix}${word}tail`).toString('base64');
    expect(
      needlesFor('w', word).some((needle) => needle.label.startsWith('w base64/') && encoded.includes(needle.text!)),
    ).toBe(true);
  }
});

test('no key appears in any column of any table, in the logs, or in any response', async () => {
  const keys = new Map<string, string>();
  const tenants: Array<{ tenant: TenantFixture; member: UserFixture }> = [];
  for (const name of ['plain-a', 'plain-b']) {
    const tenant = await createTenantWithAdmin(gw, name);
    tenants.push({ tenant, member: await createMember(gw, tenant.adminToken, 'MEMBER') });
  }

  // Every provider, both scopes, two tenants. Anthropic keys go through the live check.
  for (const [t, { tenant, member }] of tenants.entries()) {
    for (const provider of PROVIDERS) {
      const shared = providerKey(provider);
      const personal = providerKey(provider);
      keys.set(`t${t} ${provider} TENANT`, shared);
      keys.set(`t${t} ${provider} PERSONAL`, personal);
      const validate = provider === Provider.ANTHROPIC;
      await client.storeCredential(tenant.adminToken, {
        provider,
        scope: 'TENANT',
        apiKey: shared,
        validate,
        label: 'team key',
      });
      await client.storeCredential(member.token, { provider, scope: 'PERSONAL', apiKey: personal, validate });
    }
  }
  const [{ tenant: a, member: memberA }] = tenants;

  // A replaced key must be gone too.
  const replaced = keys.get('t0 OPENAI TENANT')!;
  keys.set('replaced OPENAI TENANT', replaced);
  const replacement = providerKey(Provider.OPENAI);
  keys.set('t0 OPENAI TENANT', replacement);
  await client.storeCredential(a.adminToken, { provider: 'OPENAI', scope: 'TENANT', apiKey: replacement });

  // Keys that were refused must never have been written anywhere.
  const rejected = providerKey(Provider.ANTHROPIC);
  keys.set('rejected upstream', rejected);
  anthropic.rejectKey(rejected, 401);
  expect(
    errorCode(
      await client.setCredential(a.adminToken, {
        provider: 'ANTHROPIC',
        scope: 'TENANT',
        apiKey: rejected,
        validate: true,
      }),
    ),
  ).toBe('INVALID_PROVIDER_KEY');
  const malformed = `${providerKey(Provider.ANTHROPIC)} `;
  keys.set('malformed', malformed);
  expect(
    errorCode(
      await client.setCredential(memberA.token, { provider: 'ANTHROPIC', scope: 'PERSONAL', apiKey: malformed }),
    ),
  ).toBe('BAD_USER_INPUT');

  // Rotate once: every ciphertext is rewritten under data key v2.
  expect((await client.ok(a.adminToken, ROTATE_DATA_KEY)).rotateDataKey.dataKeyVersion).toBe(2);

  // Use every stored key through the request path (decrypted in memory only), and read metadata.
  for (const [t, { tenant, member }] of tenants.entries()) {
    for (const provider of PROVIDERS) {
      const viaTenant = await resolveKey(gw, userOf(tenant, member), provider, KeySource.TENANT);
      const viaPersonal = await resolveKey(gw, userOf(tenant, member), provider, KeySource.AUTO);
      expect(viaTenant.apiKey).toBe(keys.get(`t${t} ${provider} TENANT`));
      expect(viaPersonal).toMatchObject({ source: 'PERSONAL', apiKey: keys.get(`t${t} ${provider} PERSONAL`) });
      expect(viaTenant.dataKeyVersion).toBe(t === 0 ? 2 : 1);
    }
    await client.credentials(tenant.adminToken);
    await client.credentials(member.token);
    await client.ok(member.token, KEY_STATUS, { provider: 'ANTHROPIC' });
    await client.ok(tenant.adminToken, TENANT);
  }

  const needles = [...keys].flatMap(([name, key]) => needlesFor(name, key));
  expect(needles.length).toBe(keys.size * 9);

  const { hits, columns, rows } = await scanDatabase(testDatabaseUrl(), needles);
  expect(columns).toBeGreaterThan(10);
  expect(rows).toBeGreaterThan(20);
  expect(hits).toEqual([]);

  const logged = gw.logs.text;
  expect(gw.logs.lines.length).toBeGreaterThan(0);
  expect(needles.filter((needle) => logged.includes(needle.text!)).map((needle) => needle.label)).toEqual([]);

  expect(client.bodies.length).toBeGreaterThan(30);
  expect(
    needles.filter((needle) => client.bodies.some((body) => body.includes(needle.text!))).map((needle) => needle.label),
  ).toEqual([]);
});
