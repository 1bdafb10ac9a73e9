import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { Problem } from '../components/problem';
import { explainError, type Explained } from '../errors';
import { KEY_SOURCE_WORDS, usd } from '../format';
import { graphql, type ResultOf } from '../graphql';
import { useSession, type KeySource, type ModelChoice } from '../session-context';

export const MODEL_OPTIONS = graphql(`
  query ModelOptions {
    models {
      id
      displayName
      provider
      keySources
      inputUsdPerMTok
      outputUsdPerMTok
      endOfLife
      retired
    }
    tenant {
      policy {
        allowedModels
        allowPlatformKey
        defaultModel
      }
    }
    anthropic: keyStatus(provider: ANTHROPIC) {
      provider
      hasPersonalKey
      hasTenantKey
      platformKeyAvailable
    }
  }
`);
const SET_PREFERRED_MODEL = graphql(`
  mutation SetPreferredModel($model: String) {
    setPreferredModel(model: $model) {
      id
      preferredModel
    }
  }
`);

type Options = ResultOf<typeof MODEL_OPTIONS>;
type Model = Options['models'][number];
const SOURCES: KeySource[] = ['PERSONAL', 'TENANT', 'PLATFORM'];

/** Why `source` cannot serve `model` right now, or null when it can. */
function unavailableBecause(model: Model, source: KeySource, options: Options): string | null {
  if (model.retired) return `the provider retired this model on ${endOfLifeDay(model)}`;
  if (model.keySources.includes(source as never)) return null;
  const policy = options.tenant.policy;
  if (policy.allowedModels && !policy.allowedModels.includes(model.id)) return "not allowed by your tenant's policy";
  if (source === 'PERSONAL') return 'you have no personal key for this provider: add one in API Keys';
  if (source === 'TENANT') return 'your tenant has no shared key for this provider';
  if (!policy.allowPlatformKey) return 'your tenant does not allow the platform key';
  return 'this gateway has no platform key';
}

/** The model's end-of-life day (UTC, YYYY-MM-DD), or null when none is announced. */
const endOfLifeDay = (model: Model): string | null => (model.endOfLife ? model.endOfLife.slice(0, 10) : null);

export const optionLabel = (displayName: string, source: KeySource) => `${displayName} (${KEY_SOURCE_WORDS[source]})`;

/**
 * The Model Selection tab: a radio group of model × key source. Apply sets the choice for this
 * tab's chats (and, if asked, makes the model the user's default); Cancel leaves it.
 */
export function ModelSelection({ onDone, reloadKey }: { onDone?(): void; reloadKey?: number }) {
  const session = useSession();
  const [options, setOptions] = useState<Options | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);
  const [selected, setSelected] = useState<string | null>(
    session.choice ? `${session.choice.model}|${session.choice.keySource}` : null,
  );
  const [makeDefault, setMakeDefault] = useState(false);
  const [status, setStatus] = useState<string | null>(null);

  useEffect(() => {
    request(MODEL_OPTIONS).then(setOptions, (error) => setProblem(explainError(error)));
  }, [reloadKey]);

  const apply = async (event: Event) => {
    event.preventDefault();
    if (!options || !selected) return;
    const [modelId, source] = selected.split('|') as [string, KeySource];
    const model = options.models.find((candidate) => candidate.id === modelId);
    if (!model) return;
    const choice: ModelChoice = { model: model.id, keySource: source, label: optionLabel(model.displayName, source) };
    try {
      if (makeDefault) {
        await request(SET_PREFERRED_MODEL, { model: model.id });
        await session.refreshMe();
      }
      session.setChoice(choice);
      setStatus(`Chats in this tab now use ${choice.label}${makeDefault ? '; the model is also your default' : ''}.`);
      onDone?.();
    } catch (error) {
      setProblem(explainError(error));
    }
  };
  const cancel = () => {
    setSelected(session.choice ? `${session.choice.model}|${session.choice.keySource}` : null);
    setStatus(null);
    onDone?.();
  };

  if (!options) return problem ? <Problem problem={problem} /> : <p aria-busy="true">Loading models…</p>;
  const preferred = session.me.preferredModel ?? options.tenant.policy.defaultModel;
  return (
    <form class="model-selection" onSubmit={(event) => void apply(event)}>
      <fieldset>
        <legend>Model and key</legend>
        <p class="hint">
          Your default model: {options.models.find((model) => model.id === preferred)?.displayName ?? preferred}.
          Without a choice here, chats use it with the best available key (personal, then tenant, then platform).
        </p>
        <div role="radiogroup" aria-label="Model and key" class="options">
          {options.models.map((model) =>
            SOURCES.map((source) => {
              const value = `${model.id}|${source}`;
              const reason = unavailableBecause(model, source, options);
              const id = `option-${model.id}-${source}`;
              return (
                <div class={`option${reason ? ' disabled' : ''}`}>
                  <input
                    type="radio"
                    name="model-choice"
                    id={id}
                    value={value}
                    checked={selected === value}
                    disabled={reason !== null}
                    aria-describedby={`${id}-detail`}
                    onChange={() => setSelected(value)}
                  />
                  <label for={id}>{optionLabel(model.displayName, source)}</label>
                  <span class="detail" id={`${id}-detail`}>
                    {reason
                      ? `Unavailable: ${reason}.`
                      : `${usd(model.inputUsdPerMTok)} in / ${usd(model.outputUsdPerMTok)} out per million tokens${
                          endOfLifeDay(model) ? `; retires ${endOfLifeDay(model)}` : ''
                        }`}
                  </span>
                </div>
              );
            }),
          )}
        </div>
      </fieldset>
      <label class="checkbox">
        <input
          type="checkbox"
          checked={makeDefault}
          onChange={(event) => setMakeDefault(event.currentTarget.checked)}
        />
        Also make this model my default
      </label>
      <Problem problem={problem} />
      <div class="actions">
        <button type="submit" class="primary" disabled={!selected}>
          Apply
        </button>
        <button type="button" onClick={cancel}>
          Cancel
        </button>
      </div>
      <p role="status" class="status">
        {status}
      </p>
    </form>
  );
}
