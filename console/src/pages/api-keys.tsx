import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { Problem } from '../components/problem';
import { explainError, type Explained } from '../errors';
import { ago, dateTime, keyFormatProblem, KEY_FORMATS, PROVIDER_NAMES, PROVIDERS, type ProviderName } from '../format';
import { graphql, type ResultOf } from '../graphql';
import { isTenantAdmin, useSession } from '../session-context';

export const CREDENTIALS = graphql(`
  query Credentials {
    credentials {
      id
      provider
      scope
      last4
      lastUsedAt
      lastCheckedAt
      lastCheckResult
      createdAt
      owner {
        id
      }
    }
  }
`);
const SET_CREDENTIAL = graphql(`
  mutation SetCredential($input: SetCredentialInput!) {
    setCredential(input: $input) {
      id
      provider
      scope
      last4
      lastUsedAt
      lastCheckedAt
      lastCheckResult
      createdAt
      owner {
        id
      }
    }
  }
`);
const TEST_CREDENTIAL = graphql(`
  mutation TestCredential($id: ID!) {
    testCredential(id: $id) {
      result
      message
      credential {
        id
        lastCheckedAt
        lastCheckResult
      }
    }
  }
`);
const DELETE_CREDENTIAL = graphql(`
  mutation DeleteCredential($id: ID!) {
    deleteCredential(id: $id)
  }
`);

type CredentialRow = ResultOf<typeof CREDENTIALS>['credentials'][number];
type Scope = 'PERSONAL' | 'TENANT';

const CHECK_WORDS: Record<string, string> = {
  VALID: 'accepted',
  REJECTED: 'rejected',
  UNREACHABLE: 'could not reach the provider',
  NO_LIVE_CHECK: 'no live check',
};

/** The API Keys tab: the caller's keys, and the tenant's shared keys for admins. */
export function ApiKeys({ onChanged }: { onChanged?(): void }) {
  const { me } = useSession();
  const [rows, setRows] = useState<CredentialRow[] | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);

  const load = () =>
    request(CREDENTIALS).then(
      (data) => setRows(data.credentials),
      (error) => setProblem(explainError(error)),
    );
  useEffect(() => void load(), []);

  const changed = async () => {
    await load();
    onChanged?.();
  };
  const readOnly = me.role === 'AUDITOR';
  const find = (provider: ProviderName, scope: Scope) =>
    rows?.find(
      (row) => row.provider === provider && row.scope === scope && (scope === 'TENANT' || row.owner?.id === me.id),
    ) ?? null;

  return (
    <div class="api-keys">
      <Problem problem={problem} />
      <section aria-labelledby="personal-keys-heading">
        <h2 id="personal-keys-heading">Your keys</h2>
        <p class="hint">
          Keys are encrypted by the gateway and never shown again; only their last four characters are kept for display.
          {readOnly && ' Auditors are read-only and cannot store keys.'}
        </p>
        {rows === null ? (
          <p aria-busy="true">Loading keys…</p>
        ) : (
          PROVIDERS.map((provider) => (
            <KeyRow
              provider={provider}
              scope="PERSONAL"
              row={find(provider, 'PERSONAL')}
              readOnly={readOnly}
              onChanged={changed}
            />
          ))
        )}
      </section>
      {isTenantAdmin(me) && (
        <section aria-labelledby="tenant-keys-heading">
          <h2 id="tenant-keys-heading">Tenant keys</h2>
          <p class="hint">Shared by everyone in {me.tenant.name} whose requests may use the tenant key.</p>
          {rows &&
            PROVIDERS.map((provider) => (
              <KeyRow
                provider={provider}
                scope="TENANT"
                row={find(provider, 'TENANT')}
                readOnly={false}
                onChanged={changed}
              />
            ))}
        </section>
      )}
    </div>
  );
}

function KeyRow({
  provider,
  scope,
  row,
  readOnly,
  onChanged,
}: {
  provider: ProviderName;
  scope: Scope;
  row: CredentialRow | null;
  readOnly: boolean;
  onChanged(): Promise<void>;
}) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);
  const [formatProblem, setFormatProblem] = useState<string | null>(null);
  const id = `${scope.toLowerCase()}-${provider.toLowerCase()}`;
  const name = PROVIDER_NAMES[provider];

  const run = async (action: () => Promise<string>) => {
    setBusy(true);
    setProblem(null);
    setStatus(null);
    try {
      setStatus(await action());
    } catch (error) {
      setProblem(explainError(error));
    } finally {
      setBusy(false);
    }
  };

  const save = (event: Event) => {
    event.preventDefault();
    const key = value.trim();
    const formatIssue = key ? keyFormatProblem(provider, key) : 'Paste the key first.';
    setFormatProblem(formatIssue);
    if (formatIssue) return;
    void run(async () => {
      const data = await request(SET_CREDENTIAL, { input: { provider, scope, apiKey: key } });
      setValue('');
      await onChanged();
      return `Saved. The key ending in ${data.setCredential.last4} is stored.`;
    });
  };
  const test = () =>
    run(async () => {
      const data = await request(TEST_CREDENTIAL, { id: row!.id });
      await onChanged();
      return `Test: ${data.testCredential.message}.`;
    });
  const remove = () =>
    run(async () => {
      await request(DELETE_CREDENTIAL, { id: row!.id });
      await onChanged();
      return `Deleted the ${name} key.`;
    });

  return (
    <form class="key-row" aria-labelledby={`${id}-name`} onSubmit={save} noValidate>
      <h3 id={`${id}-name`}>{name}</h3>
      <p class="key-status" id={`${id}-status`}>
        {row ? (
          <>
            <strong>Key saved</strong> · ends in <code>{row.last4}</code> · last used {ago(row.lastUsedAt)}
            {row.lastCheckedAt && (
              <>
                {' '}
                · last test: {CHECK_WORDS[row.lastCheckResult ?? ''] ?? row.lastCheckResult}{' '}
                <time dateTime={row.lastCheckedAt} title={dateTime(row.lastCheckedAt)}>
                  {ago(row.lastCheckedAt)}
                </time>
              </>
            )}
          </>
        ) : (
          <strong>No key</strong>
        )}
      </p>
      <label for={`${id}-key`}>{name} API Key</label>
      <div class="key-controls">
        <input
          id={`${id}-key`}
          type="password"
          autoComplete="off"
          spellcheck={false}
          placeholder={row ? 'Paste a new key to replace it' : KEY_FORMATS[provider].prefixes[0] + '…'}
          value={value}
          disabled={readOnly}
          aria-describedby={`${id}-hint ${id}-status`}
          aria-invalid={formatProblem ? true : undefined}
          onInput={(event) => {
            setValue(event.currentTarget.value);
            setFormatProblem(null);
          }}
        />
        <button type="submit" class="primary" disabled={readOnly || busy}>
          Save Key
        </button>
        <button type="button" disabled={!row || busy || readOnly} onClick={() => void test()}>
          Test Key
        </button>
        <button type="button" class="danger" disabled={!row || busy || readOnly} onClick={() => void remove()}>
          Delete Key
        </button>
      </div>
      <p class="hint" id={`${id}-hint`}>
        {KEY_FORMATS[provider].hint}.
      </p>
      {formatProblem && (
        <p class="problem" role="alert">
          {formatProblem}
        </p>
      )}
      <Problem problem={problem} />
      <p role="status" class="status">
        {status}
      </p>
    </form>
  );
}
