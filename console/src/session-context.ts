import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { graphql, type ResultOf } from './graphql';

export const ME = graphql(`
  query Me {
    me {
      id
      email
      name
      role
      preferredModel
      tenant {
        id
        name
      }
    }
  }
`);

export type Me = ResultOf<typeof ME>['me'];
export type KeySource = 'AUTO' | 'PERSONAL' | 'TENANT' | 'PLATFORM';

/** The model and key source chosen for this tab's chats; null: the server's default (AUTO). */
export interface ModelChoice {
  model: string;
  keySource: KeySource;
  label: string;
}

export interface Session {
  token: string;
  me: Me;
  choice: ModelChoice | null;
  setChoice(choice: ModelChoice | null): void;
  refreshMe(): Promise<void>;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in session');
  return session;
}

export const isTenantAdmin = (me: Me) => me.role === 'TENANT_ADMIN' || me.role === 'PLATFORM_ADMIN';
export const canSeeTenantAudit = (me: Me) => isTenantAdmin(me) || me.role === 'AUDITOR';
export const canChat = (me: Me) => me.role !== 'AUDITOR';
