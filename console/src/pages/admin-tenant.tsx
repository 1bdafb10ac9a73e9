import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { Problem } from '../components/problem';
import { explainError, type Explained } from '../errors';
import { graphql, type ResultOf } from '../graphql';

const TENANT = graphql(`
  query TenantPolicy {
    tenant {
      id
      name
      keyring
      dataKeyVersion
      policy {
        allowPlatformKey
        allowedModels
        defaultModel
        monthlyBudgetUsd
        requestsPerMinute
        maxSteps
      }
    }
    models {
      id
      displayName
    }
  }
`);
const UPDATE_POLICY = graphql(`
  mutation UpdatePolicy($input: UpdateTenantPolicyInput!) {
    updateTenantPolicy(input: $input) {
      id
      policy {
        allowPlatformKey
        allowedModels
        defaultModel
        monthlyBudgetUsd
        requestsPerMinute
        maxSteps
      }
    }
  }
`);
const ROTATE = graphql(`
  mutation RotateDataKey {
    rotateDataKey {
      id
      dataKeyVersion
      keyring
    }
  }
`);

type TenantData = ResultOf<typeof TENANT>;

function useTenant() {
  const [data, setData] = useState<TenantData | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);
  useEffect(() => {
    request(TENANT).then(setData, (error) => setProblem(explainError(error)));
  }, []);
  return { data, problem };
}

const numberOrNull = (text: string) => (text.trim() === '' ? null : Number(text));

export function Policy({ readOnly }: { readOnly: boolean }) {
  const { data, problem } = useTenant();
  if (!data) return problem ? <Problem problem={problem} /> : <p aria-busy="true">Loading policy…</p>;
  return <PolicyForm data={data} readOnly={readOnly} />;
}

function PolicyForm({ data, readOnly }: { data: TenantData; readOnly: boolean }) {
  const policy = data.tenant.policy;
  const [allModels, setAllModels] = useState(policy.allowedModels === null);
  const [allowed, setAllowed] = useState<string[]>(policy.allowedModels ?? data.models.map((model) => model.id));
  const [defaultModel, setDefaultModel] = useState(policy.defaultModel);
  const [allowPlatformKey, setAllowPlatformKey] = useState(policy.allowPlatformKey);
  const [budget, setBudget] = useState(policy.monthlyBudgetUsd === null ? '' : String(policy.monthlyBudgetUsd));
  const [rate, setRate] = useState(policy.requestsPerMinute === null ? '' : String(policy.requestsPerMinute));
  const [maxSteps, setMaxSteps] = useState(String(policy.maxSteps));
  const [problem, setProblem] = useState<Explained | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const save = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    setStatus(null);
    try {
      await request(UPDATE_POLICY, {
        input: {
          allowedModels: allModels ? null : allowed,
          defaultModel,
          allowPlatformKey,
          monthlyBudgetUsd: numberOrNull(budget),
          requestsPerMinute: numberOrNull(rate),
          maxSteps: Number(maxSteps),
        },
      });
      setStatus('Policy saved.');
    } catch (error) {
      setProblem(explainError(error));
    }
  };

  return (
    <form class="stacked" onSubmit={(event) => void save(event)}>
      <h2>Policy</h2>
      <fieldset disabled={readOnly}>
        <legend>Allowed models</legend>
        <label class="checkbox">
          <input type="checkbox" checked={allModels} onChange={(event) => setAllModels(event.currentTarget.checked)} />{' '}
          Every model in the catalog
        </label>
        {!allModels &&
          data.models.map((model) => (
            <label class="checkbox">
              <input
                type="checkbox"
                checked={allowed.includes(model.id)}
                onChange={(event) =>
                  setAllowed((current) =>
                    event.currentTarget.checked ? [...current, model.id] : current.filter((id) => id !== model.id),
                  )
                }
              />{' '}
              {model.displayName}
            </label>
          ))}
      </fieldset>
      <fieldset disabled={readOnly}>
        <legend>Defaults and limits</legend>
        <label for="policy-default-model">Default model</label>
        <select
          id="policy-default-model"
          value={defaultModel}
          onChange={(event) => setDefaultModel(event.currentTarget.value)}
        >
          {data.models.map((model) => (
            <option value={model.id}>{model.displayName}</option>
          ))}
        </select>
        <label class="checkbox">
          <input
            type="checkbox"
            checked={allowPlatformKey}
            onChange={(event) => setAllowPlatformKey(event.currentTarget.checked)}
          />{' '}
          Allow the platform key
        </label>
        <label for="policy-budget">Monthly budget in USD (empty: no budget)</label>
        <input
          id="policy-budget"
          type="number"
          min="0"
          step="0.01"
          inputMode="decimal"
          value={budget}
          onInput={(event) => setBudget(event.currentTarget.value)}
        />
        <label for="policy-rate">Requests per minute per user (empty: no limit)</label>
        <input
          id="policy-rate"
          type="number"
          min="1"
          step="1"
          inputMode="numeric"
          value={rate}
          onInput={(event) => setRate(event.currentTarget.value)}
        />
        <label for="policy-max-steps">Model calls per chat in a tool loop</label>
        <input
          id="policy-max-steps"
          type="number"
          min="1"
          step="1"
          required
          inputMode="numeric"
          value={maxSteps}
          onInput={(event) => setMaxSteps(event.currentTarget.value)}
        />
      </fieldset>
      <Problem problem={problem} />
      {!readOnly && (
        <button type="submit" class="primary">
          Save policy
        </button>
      )}
      <p role="status" class="status">
        {status}
      </p>
    </form>
  );
}

export function DataKey() {
  const { data, problem } = useTenant();
  const [version, setVersion] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionProblem, setActionProblem] = useState<Explained | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const rotate = async () => {
    setBusy(true);
    setActionProblem(null);
    setStatus(null);
    try {
      const result = await request(ROTATE);
      setVersion(result.rotateDataKey.dataKeyVersion);
      setStatus(
        `Rotated: data key version ${result.rotateDataKey.dataKeyVersion}; every stored key was re-encrypted under it.`,
      );
    } catch (error) {
      setActionProblem(explainError(error));
    } finally {
      setBusy(false);
    }
  };
  if (!data) return problem ? <Problem problem={problem} /> : <p aria-busy="true">Loading…</p>;
  return (
    <div>
      <h2>Data key</h2>
      <p>
        The tenant's stored keys are encrypted with data key version{' '}
        <strong>{version ?? data.tenant.dataKeyVersion}</strong>, wrapped by the <strong>{data.tenant.keyring}</strong>{' '}
        keyring. Rotating creates a new version and re-encrypts every stored key under it.
      </p>
      <button type="button" class="primary" disabled={busy} onClick={() => void rotate()}>
        Rotate data key
      </button>
      <Problem problem={actionProblem} />
      <p role="status" class="status">
        {status}
      </p>
    </div>
  );
}
