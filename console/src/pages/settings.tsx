import { useState } from 'preact/hooks';
import { Tabs } from '../components/tabs';
import { navigate } from '../router';
import { ApiKeys } from './api-keys';
import { ModelSelection } from './model-selection';

const TABS = [
  { id: 'keys', label: 'API Keys' },
  { id: 'models', label: 'Model Selection' },
];

/** API Keys and Model Selection, as tabs: on their own page (/settings/…) or in the chat's dialog. */
export function KeysAndModels({ tab, onTab, onDone }: { tab: string; onTab(tab: string): void; onDone?(): void }) {
  // Key changes alter which options are available: reload them when a key was saved or deleted.
  const [keysVersion, setKeysVersion] = useState(0);
  return (
    <Tabs label="Keys and models" tabs={TABS} selected={tab} onSelect={onTab} idPrefix="settings">
      {tab === 'keys' ? (
        <ApiKeys onChanged={() => setKeysVersion((version) => version + 1)} />
      ) : (
        <ModelSelection onDone={onDone} reloadKey={keysVersion} />
      )}
    </Tabs>
  );
}

export function SettingsPage({ path }: { path: string }) {
  const tab = path.startsWith('/settings/models') ? 'models' : 'keys';
  return (
    <section class="page">
      <h1>Keys &amp; models</h1>
      <KeysAndModels tab={tab} onTab={(next) => navigate(`/settings/${next}`)} />
    </section>
  );
}
