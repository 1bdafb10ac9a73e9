import { Tabs } from '../components/tabs';
import { navigate } from '../router';
import { isTenantAdmin, useSession } from '../session-context';
import { AuditLog } from './admin-audit';
import { DataKey, Policy } from './admin-tenant';
import { Tokens, Users } from './admin-people';

const ALL_TABS = [
  { id: 'users', label: 'Users', admin: true },
  { id: 'tokens', label: 'Tokens', admin: true },
  { id: 'policy', label: 'Policy', admin: false },
  { id: 'data-key', label: 'Data key', admin: true },
  { id: 'audit', label: 'Audit log', admin: false },
];

/** Tenant administration; auditors see the policy and the audit log, read-only. */
export function AdminPage({ path }: { path: string }) {
  const { me } = useSession();
  const admin = isTenantAdmin(me);
  const tabs = ALL_TABS.filter((tab) => admin || !tab.admin);
  const requested = path.split('/')[2];
  const tab = tabs.find((candidate) => candidate.id === requested)?.id ?? tabs[0].id;
  return (
    <section class="page">
      <h1>Admin: {me.tenant.name}</h1>
      {!admin && <p class="hint">Read-only: auditors can read the policy and the audit log.</p>}
      <Tabs label="Admin" tabs={tabs} selected={tab} onSelect={(next) => navigate(`/admin/${next}`)} idPrefix="admin">
        {tab === 'users' && <Users />}
        {tab === 'tokens' && <Tokens />}
        {tab === 'policy' && <Policy readOnly={!admin} />}
        {tab === 'data-key' && <DataKey />}
        {tab === 'audit' && <AuditLog />}
      </Tabs>
    </section>
  );
}
