import { useState } from 'preact/hooks';
import { ApiError } from '../api';

export function SignIn({ onSignIn, notice }: { onSignIn(token: string): Promise<void>; notice: string | null }) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const candidate = token.trim();
    if (!candidate)
      return setProblem('Enter your token: the kw_… string printed by the gateway or given by your admin.');
    if (!candidate.startsWith('kw_'))
      return setProblem('Keyward tokens start with kw_. Check that you copied the whole token.');
    setBusy(true);
    setProblem(null);
    try {
      await onSignIn(candidate);
    } catch (error) {
      setProblem(
        error instanceof ApiError && error.code === 'UNAUTHENTICATED'
          ? 'This token was not accepted: it is unknown, revoked or expired. Check that you copied the whole kw_… token.'
          : error instanceof Error
            ? error.message
            : String(error),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in" id="main">
      <h1>Keyward</h1>
      <p>
        Sign in with your API token. It stays in this browser tab only and is forgotten when you close it or sign out.
      </p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={(event) => void submit(event)} noValidate>
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellcheck={false}
          placeholder="kw_…"
          value={token}
          onInput={(event) => setToken(event.currentTarget.value)}
          aria-describedby="token-help"
          aria-invalid={problem ? true : undefined}
        />
        <p id="token-help" class="hint">
          The gateway prints a token on its first start; admins issue tokens under Admin → Tokens.
        </p>
        {problem && (
          <p class="problem" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
