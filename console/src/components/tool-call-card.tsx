import { prettyJson } from '../tools';
import { outputFieldId, type ToolCallState } from '../tool-calls';

interface Props {
  call: ToolCallState;
  /** id of the step's error message (submitToolResults refused), described by the output field. */
  problemId?: string;
  onChange(change: Partial<Pick<ToolCallState, 'output' | 'isError'>>): void;
  onAnswer(): void;
}

/** One tool call in the transcript: its name and input, and a form to answer it by hand. */
export function ToolCallCard({ call, problemId, onChange, onAnswer }: Props) {
  const fieldId = outputFieldId(call.id);
  const titleId = `${fieldId}-title`;
  // A ready answer stays editable until the step goes out (and again if the gateway refused it).
  const editable = call.status === 'open' || call.status === 'ready';
  const submit = (event: Event) => {
    event.preventDefault();
    if (editable) onAnswer();
  };
  return (
    <section class={`tool-call ${call.status}`} aria-labelledby={titleId}>
      <h3 id={titleId}>
        Tool call <code>{call.name}</code>
      </h3>
      <pre class="tool-input" tabIndex={0} aria-label={`Input of ${call.name}`}>
        {prettyJson(call.input)}
      </pre>
      {call.status === 'answered' || call.status === 'closed' ? (
        <ToolCallOutcome call={call} />
      ) : (
        <form class="tool-answer" onSubmit={submit} aria-label={`Answer ${call.name}`}>
          <label for={fieldId}>Output of {call.name}</label>
          <textarea
            id={fieldId}
            rows={3}
            value={call.output}
            readOnly={!editable}
            aria-invalid={problemId ? true : undefined}
            aria-describedby={[`${fieldId}-help`, problemId].filter(Boolean).join(' ')}
            onInput={(event) => onChange({ output: event.currentTarget.value })}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) submit(event);
            }}
          />
          <p id={`${fieldId}-help`} class="hint">
            What the tool returned, as text or JSON. Enter sends, Shift+Enter starts a new line.
          </p>
          <div class="tool-answer-actions">
            <label class="checkbox">
              <input
                type="checkbox"
                checked={call.isError}
                disabled={!editable}
                onChange={(event) => onChange({ isError: event.currentTarget.checked })}
              />
              Is error
            </label>
            <button type="submit" class="primary" disabled={!editable}>
              Send result
            </button>
          </div>
          {call.status === 'ready' && !problemId && (
            <p class="hint">Ready: it is sent with the other tool results of this step once they are answered.</p>
          )}
          {call.status === 'sending' && <p class="hint">Sending…</p>}
        </form>
      )}
    </section>
  );
}

function ToolCallOutcome({ call }: { call: ToolCallState }) {
  if (call.status === 'closed') return <p class="hint">Not answered: the chat ended.</p>;
  return (
    <div class="tool-outcome">
      <p class="hint">{call.isError ? 'Sent as an error:' : 'Result sent:'}</p>
      <pre class={`tool-output${call.isError ? ' error' : ''}`}>{call.output}</pre>
    </div>
  );
}
