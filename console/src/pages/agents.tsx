import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api';
import { Problem } from '../components/problem';
import { explainError, type Explained } from '../errors';
import { graphql, readFragment, type FragmentOf, type ResultOf } from '../graphql';
import { canChat, useSession } from '../session-context';
import { parseTools, toolsText, TOOLS_EXAMPLE, type ToolDefinition } from '../tools';

const AGENT_FIELDS = graphql(`
  fragment AgentFields on Agent {
    id
    name
    systemPrompt
    model
    tools {
      name
      description
      inputSchema
    }
  }
`);
const AGENTS = graphql(
  `
    query Agents {
      agents {
        ...AgentFields
      }
      models {
        id
        displayName
        retired
      }
    }
  `,
  [AGENT_FIELDS],
);
const CREATE_AGENT = graphql(
  `
    mutation CreateAgent($input: CreateAgentInput!) {
      createAgent(input: $input) {
        ...AgentFields
      }
    }
  `,
  [AGENT_FIELDS],
);
const UPDATE_AGENT = graphql(
  `
    mutation UpdateAgent($id: ID!, $input: UpdateAgentInput!) {
      updateAgent(id: $id, input: $input) {
        ...AgentFields
      }
    }
  `,
  [AGENT_FIELDS],
);
const DELETE_AGENT = graphql(`
  mutation DeleteAgent($id: ID!) {
    deleteAgent(id: $id)
  }
`);

type AgentsData = ResultOf<typeof AGENTS>;
interface Agent {
  id: string;
  name: string;
  systemPrompt: string;
  model: string | null;
  tools: ToolDefinition[];
}
type ModelOption = AgentsData['models'][number];

/** The server's input schemas are JSON objects (it validates them as JSON Schema when saved). */
function toAgent(data: FragmentOf<typeof AGENT_FIELDS>): Agent {
  const fields = readFragment(AGENT_FIELDS, data);
  return {
    ...fields,
    tools: fields.tools.map((tool) => ({ ...tool, inputSchema: tool.inputSchema as Record<string, unknown> })),
  };
}

/** Agents of the tenant with their tools: create, edit (updateAgent) and delete (deleteAgent, confirmed). */
export function AgentsPage() {
  const { me } = useSession();
  const canEdit = canChat(me);
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [models, setModels] = useState<ModelOption[]>([]);
  const [problem, setProblem] = useState<Explained | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [editing, setEditing] = useState<Agent | null>(null);
  const [deleting, setDeleting] = useState<Agent | null>(null);
  // After a save, cancel or delete the form or button that had the focus is gone: it moves here.
  const [focusTarget, setFocusTarget] = useState<{ id: string } | null>(null);
  useEffect(() => {
    if (focusTarget) document.getElementById(focusTarget.id)?.focus();
  }, [focusTarget]);

  useEffect(() => {
    request(AGENTS).then(
      (data) => {
        setAgents(data.agents.map(toAgent));
        setModels(data.models);
      },
      (error) => setProblem(explainError(error)),
    );
  }, []);

  const saved = (agent: Agent, created: boolean) => {
    setAgents((current) =>
      created ? [...(current ?? []), agent] : (current ?? []).map((one) => (one.id === agent.id ? agent : one)),
    );
    setEditing(null);
    setStatus(created ? `Agent ${agent.name} created.` : `Agent ${agent.name} saved.`);
    setFocusTarget({ id: `agent-${agent.id}` });
  };

  const remove = async (agent: Agent) => {
    setProblem(null);
    setStatus(null);
    try {
      await request(DELETE_AGENT, { id: agent.id });
      setAgents((current) => (current ?? []).filter((one) => one.id !== agent.id));
      setStatus(`Agent ${agent.name} deleted.`);
      setFocusTarget({ id: 'agents-heading' });
    } catch (error) {
      setProblem(explainError(error));
    }
  };

  return (
    <section class="page">
      <h1 id="agents-heading" tabIndex={-1}>
        Agents
      </h1>
      <p class="hint">
        An agent is a system prompt, an optional model and tools. Pick one under Chat; when its model calls a tool, the
        chat shows the call and you answer it by hand.
      </p>
      <Problem problem={problem} />
      <p role="status" class="status">
        {status}
      </p>
      {!agents ? (
        !problem && <p aria-busy="true">Loading agents…</p>
      ) : (
        <ul class="agents" aria-label="Agents">
          {agents.map((agent) => (
            <AgentView
              agent={agent}
              models={models}
              canEdit={canEdit}
              onEdit={() => {
                setStatus(null);
                setEditing(agent);
              }}
              onDelete={() => setDeleting(agent)}
            />
          ))}
          {agents.length === 0 && <li class="hint">No agents yet.</li>}
        </ul>
      )}
      {canEdit && agents && (
        <AgentForm
          key={editing?.id ?? 'new'}
          agent={editing}
          models={models}
          onSaved={saved}
          onCancel={() => {
            setFocusTarget(editing ? { id: `agent-${editing.id}` } : null);
            setEditing(null);
          }}
        />
      )}
      {deleting && (
        <ConfirmDelete
          agent={deleting}
          onConfirm={() => {
            setDeleting(null);
            void remove(deleting);
          }}
          onClose={() => setDeleting(null)}
        />
      )}
    </section>
  );
}

const modelName = (models: ModelOption[], id: string | null) =>
  id ? (models.find((model) => model.id === id)?.displayName ?? id) : 'default model';

function AgentView(props: { agent: Agent; models: ModelOption[]; canEdit: boolean; onEdit(): void; onDelete(): void }) {
  const { agent } = props;
  const headingId = `agent-${agent.id}`;
  return (
    <li class="agent" aria-labelledby={headingId}>
      <h2 id={headingId} tabIndex={-1}>
        {agent.name}
      </h2>
      <p class="hint">{modelName(props.models, agent.model)}</p>
      <p class="prompt">{agent.systemPrompt}</p>
      {agent.tools.length ? (
        <ul class="tools" aria-label={`Tools of ${agent.name}`}>
          {agent.tools.map((tool) => (
            <li>
              <code>{tool.name}</code>
              {tool.description ? ` — ${tool.description}` : ''}
            </li>
          ))}
        </ul>
      ) : (
        <p class="hint">No tools.</p>
      )}
      {props.canEdit && (
        <div class="actions">
          <button type="button" onClick={props.onEdit} aria-label={`Edit ${agent.name}`}>
            Edit
          </button>
          <button type="button" class="danger" onClick={props.onDelete} aria-label={`Delete ${agent.name}`}>
            Delete
          </button>
        </div>
      )}
    </li>
  );
}

function AgentForm(props: {
  agent: Agent | null;
  models: ModelOption[];
  onSaved(agent: Agent, created: boolean): void;
  onCancel(): void;
}) {
  const { agent } = props;
  const [name, setName] = useState(agent?.name ?? '');
  const [systemPrompt, setSystemPrompt] = useState(agent?.systemPrompt ?? '');
  const [model, setModel] = useState(agent?.model ?? '');
  const [tools, setTools] = useState(toolsText(agent?.tools ?? []));
  const [toolsError, setToolsError] = useState<string | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);
  const [busy, setBusy] = useState(false);
  const nameField = useRef<HTMLInputElement>(null);
  const toolsField = useRef<HTMLTextAreaElement>(null);

  // Edit moves the focus to the form it opened.
  useEffect(() => {
    if (agent) nameField.current?.focus();
  }, []);

  const save = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    const parsed = parseTools(tools);
    if (!parsed.ok) {
      setToolsError(parsed.error);
      toolsField.current?.focus();
      return;
    }
    setToolsError(null);
    setBusy(true);
    try {
      const input = { name: name.trim(), systemPrompt, model: model || null, tools: parsed.tools };
      const result = agent
        ? (await request(UPDATE_AGENT, { id: agent.id, input })).updateAgent
        : (await request(CREATE_AGENT, { input })).createAgent;
      props.onSaved(toAgent(result), !agent);
    } catch (error) {
      setProblem(explainError(error));
    } finally {
      setBusy(false);
    }
  };

  const title = agent ? `Edit ${agent.name}` : 'New agent';
  return (
    <form class="stacked agent-form" aria-label={title} onSubmit={(event) => void save(event)}>
      <h2>{title}</h2>
      <label for="agent-name">Name</label>
      <input id="agent-name" ref={nameField} required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <label for="agent-prompt">System prompt</label>
      <textarea
        id="agent-prompt"
        rows={3}
        value={systemPrompt}
        onInput={(event) => setSystemPrompt(event.currentTarget.value)}
      />
      <label for="agent-model">Model</label>
      <select id="agent-model" value={model} onChange={(event) => setModel(event.currentTarget.value)}>
        <option value="">Default (the user's, else the tenant's)</option>
        {props.models
          .filter((option) => !option.retired || option.id === model)
          .map((option) => (
            <option value={option.id}>{option.displayName}</option>
          ))}
      </select>
      <label for="agent-tools">Tools (JSON)</label>
      <textarea
        id="agent-tools"
        placeholder={TOOLS_EXAMPLE}
        class="json-field"
        ref={toolsField}
        rows={8}
        spellcheck={false}
        value={tools}
        aria-invalid={toolsError ? true : undefined}
        aria-describedby={toolsError ? 'agent-tools-help agent-tools-error' : 'agent-tools-help'}
        onInput={(event) => {
          setTools(event.currentTarget.value);
          setToolsError(null);
        }}
      />
      <p id="agent-tools-help" class="hint">
        A JSON array of <code>{'{"name", "description", "inputSchema"}'}</code>; empty for none. The gateway checks each
        input schema.
      </p>
      {toolsError && (
        <p id="agent-tools-error" class="problem" role="alert">
          {toolsError}.
        </p>
      )}
      <Problem problem={problem} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {agent ? 'Save agent' : 'Create agent'}
        </button>
        {agent && (
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function ConfirmDelete({ agent, onConfirm, onClose }: { agent: Agent; onConfirm(): void; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    dialog.current!.showModal();
    return () => opener?.isConnected && opener.focus();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm-dialog"
      role="alertdialog"
      aria-labelledby="confirm-delete-title"
      aria-describedby="confirm-delete-text"
      onCancel={onClose}
      onClose={onClose}
    >
      <h2 id="confirm-delete-title">Delete {agent.name}?</h2>
      <p id="confirm-delete-text">The agent and its tools are removed. Conversations with it keep their messages.</p>
      <div class="actions">
        <button type="button" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button type="button" class="danger" onClick={onConfirm}>
          Delete agent
        </button>
      </div>
    </dialog>
  );
}
