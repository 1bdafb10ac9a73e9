import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { onUnauthenticated, request } from './api';
import { closeChatConnection } from './chat-stream';
import { ChatPage } from './pages/chat';
import { SettingsPage } from './pages/settings';
import { SignIn } from './pages/sign-in';
import { UsagePage } from './pages/usage';
import { AdminPage } from './pages/admin';
import { AgentsPage } from './pages/agents';
import { navigate, onLinkClick, usePath } from './router';
import { clearSession, sessionValue, setSessionValue, storedToken, storeToken } from './session';
import { ME, SessionContext, useSession, type Me, type ModelChoice, type Session } from './session-context';

const ROLE_WORDS: Record<string, string> = {
  PLATFORM_ADMIN: 'platform admin',
  TENANT_ADMIN: 'tenant admin',
  MEMBER: 'member',
  AUDITOR: 'auditor',
};

export function App() {
  const [token, setToken] = useState<string | null>(storedToken());
  const [me, setMe] = useState<Me | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [choice, setChoiceState] = useState<ModelChoice | null>(sessionValue<ModelChoice>('choice'));

  const signOut = useCallback((message: string | null = null) => {
    closeChatConnection();
    clearSession();
    setToken(null);
    setMe(null);
    setChoiceState(null);
    setNotice(message);
    navigate('/', true);
  }, []);

  useEffect(
    () =>
      onUnauthenticated(() =>
        signOut('Your session ended: the token was revoked or has expired. Sign in with a valid token.'),
      ),
    [signOut],
  );

  // A token left in sessionStorage by a reload: find out who it belongs to.
  useEffect(() => {
    if (token && !me)
      request(ME, {}, token).then(
        (data) => setMe(data.me),
        () => undefined,
      );
  }, [token, me]);

  const signIn = async (candidate: string) => {
    const data = await request(ME, {}, candidate);
    storeToken(candidate);
    setNotice(null);
    setMe(data.me);
    setToken(candidate);
    if (location.pathname === '/' || location.pathname === '/sign-in') navigate('/chat', true);
  };

  const session = useMemo<Session | null>(
    () =>
      token && me
        ? {
            token,
            me,
            choice,
            setChoice: (next) => {
              setSessionValue('choice', next);
              setChoiceState(next);
            },
            refreshMe: async () => setMe((await request(ME, {}, token)).me),
            signOut: () => signOut(null),
          }
        : null,
    [token, me, choice, signOut],
  );

  if (!token) return <SignIn onSignIn={signIn} notice={notice} />;
  if (!session)
    return (
      <main class="loading" aria-busy="true">
        Loading…
      </main>
    );
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}

function Shell() {
  const path = usePath();
  const session = useSession();
  const { me } = session;
  const section = path.split('/')[1] || 'chat';
  useEffect(() => {
    if (path === '/' || path === '/sign-in') navigate('/chat', true);
  }, [path]);
  const links: Array<[string, string]> = [
    ['/chat', 'Chat'],
    ['/agents', 'Agents'],
    ['/settings/keys', 'Keys & models'],
    ['/usage', 'Usage'],
  ];
  if (me.role !== 'MEMBER') links.push(['/admin', 'Admin']);
  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Keyward</span>
        <nav aria-label="Main">
          <ul>
            {links.map(([href, label]) => (
              <li>
                <a href={href} aria-current={href.split('/')[1] === section ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {me.email}{' '}
            <span class="role">
              ({ROLE_WORDS[me.role] ?? me.role}, {me.tenant.name})
            </span>
          </span>
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {section === 'chat' && <ChatPage path={path} />}
        {section === 'settings' && <SettingsPage path={path} />}
        {section === 'usage' && <UsagePage />}
        {section === 'agents' && <AgentsPage />}
        {section === 'admin' && (me.role !== 'MEMBER' ? <AdminPage path={path} /> : <NotAllowed />)}
        {!['chat', 'settings', 'usage', 'agents', 'admin'].includes(section) && <NotFoundPage />}
      </main>
    </div>
  );
}

function NotAllowed() {
  return (
    <section>
      <h1>Admin</h1>
      <p>
        Your role has no admin pages. <a href="/chat">Back to chat</a>
      </p>
    </section>
  );
}

function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page here. <a href="/chat">Go to chat</a>
      </p>
    </section>
  );
}
