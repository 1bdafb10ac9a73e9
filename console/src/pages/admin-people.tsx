import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { Problem } from '../components/problem';
import { explainError, type Explained } from '../errors';
import { dateTime } from '../format';
import { graphql, type ResultOf } from '../graphql';
import { useSession } from '../session-context';

const USERS = graphql(`
  query Users {
    users {
      id
      email
      name
      role
      createdAt
      preferredModel
    }
  }
`);
const CREATE_USER = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      email
      name
      role
      createdAt
      preferredModel
    }
  }
`);
const ISSUE_TOKEN = graphql(`
  mutation IssueToken($input: IssueApiTokenInput!) {
    issueApiToken(input: $input) {
      token
      apiToken {
        id
        name
        createdAt
        expiresAt
        revokedAt
        lastUsedAt
        user {
          id
          email
        }
      }
    }
  }
`);
const REVOKE_TOKEN = graphql(`
  mutation RevokeToken($id: ID!) {
    revokeApiToken(id: $id) {
      id
      name
      createdAt
      expiresAt
      revokedAt
      lastUsedAt
      user {
        id
        email
      }
    }
  }
`);
const API_TOKENS = graphql(`
  query ApiTokens {
    apiTokens {
      id
      name
      createdAt
      expiresAt
      revokedAt
      lastUsedAt
      user {
        id
        email
      }
    }
  }
`);

type UserRow = ResultOf<typeof USERS>['users'][number];
type TokenRow = ResultOf<typeof REVOKE_TOKEN>['revokeApiToken'];
const ROLES = ['MEMBER', 'TENANT_ADMIN', 'AUDITOR'] as const;

function useUsers() {
  const [users, setUsers] = useState<UserRow[] | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);
  const load = () =>
    request(USERS).then(
      (data) => setUsers(data.users),
      (error) => setProblem(explainError(error)),
    );
  useEffect(() => void load(), []);
  return { users, problem, reload: load };
}

export function Users() {
  const { users, problem, reload } = useUsers();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<(typeof ROLES)[number]>('MEMBER');
  const [createProblem, setCreateProblem] = useState<Explained | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const create = async (event: Event) => {
    event.preventDefault();
    setCreateProblem(null);
    setStatus(null);
    try {
      const data = await request(CREATE_USER, { input: { email: email.trim(), name: name.trim() || null, role } });
      setEmail('');
      setName('');
      await reload();
      setStatus(`Created ${data.createUser.email}. Issue a token for them under Tokens so they can sign in.`);
    } catch (error) {
      setCreateProblem(explainError(error));
    }
  };

  return (
    <div>
      <h2>Users</h2>
      <Problem problem={problem} />
      <div class="table-wrap">
        <table>
          <caption>Users of this tenant</caption>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {(users ?? []).map((user) => (
              <tr>
                <td>{user.email}</td>
                <td>{user.name ?? '–'}</td>
                <td>{user.role}</td>
                <td>{dateTime(user.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="stacked" onSubmit={(event) => void create(event)}>
        <h3>Add a user</h3>
        <label for="new-user-email">Email</label>
        <input
          id="new-user-email"
          type="email"
          required
          value={email}
          onInput={(event) => setEmail(event.currentTarget.value)}
        />
        <label for="new-user-name">Name (optional)</label>
        <input id="new-user-name" value={name} onInput={(event) => setName(event.currentTarget.value)} />
        <label for="new-user-role">Role</label>
        <select
          id="new-user-role"
          value={role}
          onChange={(event) => setRole(event.currentTarget.value as (typeof ROLES)[number])}
        >
          {ROLES.map((candidate) => (
            <option value={candidate}>{candidate}</option>
          ))}
        </select>
        <Problem problem={createProblem} />
        <button type="submit" class="primary">
          Add user
        </button>
        <p role="status" class="status">
          {status}
        </p>
      </form>
    </div>
  );
}

/** The tenant's tokens the caller may see (`apiTokens`: never those of a higher role), newest first. */
function useTokens() {
  const [tokens, setTokens] = useState<TokenRow[]>([]);
  const [problem, setProblem] = useState<Explained | null>(null);
  const load = () =>
    request(API_TOKENS).then(
      (data) => setTokens(data.apiTokens),
      (error) => setProblem(explainError(error)),
    );
  useEffect(() => void load(), []);
  return { tokens, problem, reload: load };
}

/** Every token of the tenant the caller may manage: issue one (shown once), revoke any. */
export function Tokens() {
  const { me } = useSession();
  const { users, problem } = useUsers();
  const { tokens, problem: listProblem, reload } = useTokens();
  const [name, setName] = useState('');
  const [userId, setUserId] = useState(me.id);
  const [expires, setExpires] = useState('');
  const [issued, setIssued] = useState<{ token: string; name: string } | null>(null);
  const [actionProblem, setActionProblem] = useState<Explained | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const act = async (action: () => Promise<string>) => {
    setActionProblem(null);
    setStatus(null);
    try {
      setStatus(await action());
    } catch (error) {
      setActionProblem(explainError(error));
    }
  };
  const issue = (event: Event) => {
    event.preventDefault();
    void act(async () => {
      const data = await request(ISSUE_TOKEN, {
        input: {
          name: name.trim(),
          userId,
          ...(expires ? { expiresAt: new Date(`${expires}T23:59:59Z`).toISOString() } : {}),
        },
      });
      setIssued({ token: data.issueApiToken.token, name: data.issueApiToken.apiToken.name });
      setName('');
      await reload();
      return `Issued "${data.issueApiToken.apiToken.name}" for ${data.issueApiToken.apiToken.user.email}.`;
    });
  };
  const revoke = (id: string) =>
    act(async () => {
      const data = await request(REVOKE_TOKEN, { id });
      await reload();
      return `Revoked "${data.revokeApiToken.name}" of ${data.revokeApiToken.user.email}.`;
    });

  return (
    <div>
      <h2>Tokens</h2>
      <Problem problem={problem} />
      <Problem problem={listProblem} />
      <form class="stacked" onSubmit={issue}>
        <h3>Issue a token</h3>
        <label for="token-name">Token name</label>
        <input id="token-name" required value={name} onInput={(event) => setName(event.currentTarget.value)} />
        <label for="token-user">For user</label>
        <select id="token-user" value={userId} onChange={(event) => setUserId(event.currentTarget.value)}>
          <option value={me.id}>{me.email} (you)</option>
          {(users ?? [])
            .filter((user) => user.id !== me.id)
            .map((user) => (
              <option value={user.id}>{user.email}</option>
            ))}
        </select>
        <label for="token-expires">Expires on (optional, UTC)</label>
        <input
          id="token-expires"
          type="date"
          value={expires}
          onInput={(event) => setExpires(event.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled={!name.trim()}>
          Issue token
        </button>
      </form>
      {issued && (
        <div class="issued" role="region" aria-label="Token issued">
          <p>
            <strong>Copy the token "{issued.name}" now: it is shown only once.</strong>
          </p>
          <label for="issued-token">New token</label>
          <input id="issued-token" readOnly value={issued.token} onFocus={(event) => event.currentTarget.select()} />
          <button type="button" onClick={() => setIssued(null)}>
            I have copied it
          </button>
        </div>
      )}
      <Problem problem={actionProblem} />
      <p role="status" class="status">
        {status}
      </p>
      <div class="table-wrap">
        <table>
          <caption>Tokens you can manage</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">User</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr>
                <td>{token.name}</td>
                <td>{token.user.email}</td>
                <td>{dateTime(token.createdAt)}</td>
                <td>{token.lastUsedAt ? dateTime(token.lastUsedAt) : 'never'}</td>
                <td>{token.expiresAt ? dateTime(token.expiresAt) : 'never'}</td>
                <td>{token.revokedAt ? `revoked ${dateTime(token.revokedAt)}` : 'active'}</td>
                <td>
                  {!token.revokedAt && (
                    <button
                      type="button"
                      class="danger"
                      onClick={() => void revoke(token.id)}
                      aria-label={`Revoke ${token.name}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {tokens.length === 0 && (
              <tr>
                <td colSpan={7}>None.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
