import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api';
import { mutateOnChatSocket, streamChat, type ChatEvent } from '../chat-stream';
import { Problem } from '../components/problem';
import { ToolCallCard } from '../components/tool-call-card';
import { explain, explainError, type Explained } from '../errors';
import { integer, KEY_SOURCE_WORDS, usd } from '../format';
import { graphql, type ResultOf } from '../graphql';
import { navigate } from '../router';
import { canChat, useSession } from '../session-context';
import { newToolCall, readyToSubmit, SUBMIT_TOOL_RESULTS, type ToolCallState } from '../tool-calls';
import { parseTools, TOOLS_EXAMPLE } from '../tools';
import { KeysAndModels } from './settings';

const CONVERSATIONS = graphql(`
  query Conversations {
    conversations(first: 50) {
      id
      title
      createdAt
    }
  }
`);
const CONVERSATION = graphql(`
  query Conversation($id: ID!) {
    conversation(id: $id) {
      id
      title
      messages {
        id
        role
        content
        model
        keySource
        createdAt
      }
    }
  }
`);

const AGENT_NAMES = graphql(`
  query AgentNames {
    agents {
      id
      name
    }
  }
`);

type ConversationSummary = ResultOf<typeof CONVERSATIONS>['conversations'][number];
type AgentName = ResultOf<typeof AGENT_NAMES>['agents'][number];

/** A reply is text and tool calls in the order they streamed in. */
type Part = { kind: 'text'; text: string } | { kind: 'tool'; call: ToolCallState };

interface Turn {
  key: string;
  role: 'USER' | 'ASSISTANT';
  parts: Part[];
  requestId?: string;
  model?: string | null;
  keySource?: string | null;
  usage?: { inputTokens: number; outputTokens: number; costUsd: number };
  state: 'done' | 'streaming' | 'stopped' | 'failed';
  problem?: Explained;
  /** submitToolResults was refused for this reply's open step. */
  toolProblem?: Explained;
}

let turnCounter = 0;
const nextKey = () => `turn-${++turnCounter}`;
const textParts = (text: string): Part[] => (text ? [{ kind: 'text', text }] : []);

const appendText = (parts: Part[], text: string): Part[] => {
  const last = parts[parts.length - 1];
  return last?.kind === 'text'
    ? [...parts.slice(0, -1), { kind: 'text', text: last.text + text }]
    : [...parts, { kind: 'text', text }];
};
const toolCalls = (turn: Turn): ToolCallState[] =>
  turn.parts.flatMap((part) => (part.kind === 'tool' ? [part.call] : []));
const mapCalls = (turn: Turn, change: (call: ToolCallState) => ToolCallState): Turn => ({
  ...turn,
  parts: turn.parts.map((part) => (part.kind === 'tool' ? { kind: 'tool', call: change(part.call) } : part)),
});
/** When the chat ends, calls nobody answered can no longer be. */
const closeOpenCalls = (turn: Turn): Turn =>
  mapCalls(turn, (call) => (call.status === 'open' || call.status === 'ready' ? { ...call, status: 'closed' } : call));

export function ChatPage({ path }: { path: string }) {
  const session = useSession();
  const routeId = path.split('/')[2] ?? null;
  const [conversations, setConversations] = useState<ConversationSummary[]>([]);
  const [conversationId, setConversationId] = useState<string | null>(null);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [message, setMessage] = useState('');
  const [problem, setProblem] = useState<Explained | null>(null);
  const [dialogTab, setDialogTab] = useState<string | null>(null);
  const stopRef = useRef<(() => void) | null>(null);
  const [streaming, setStreaming] = useState(false);
  const listEnd = useRef<HTMLDivElement>(null);
  const messageBox = useRef<HTMLTextAreaElement>(null);
  const [agents, setAgents] = useState<AgentName[]>([]);
  const [agentId, setAgentId] = useState('');
  const [toolsText, setToolsText] = useState('');
  const [toolsOpen, setToolsOpen] = useState(false);
  const [toolsError, setToolsError] = useState<string | null>(null);
  const toolsBox = useRef<HTMLTextAreaElement>(null);
  const [focusRequest, setFocusRequest] = useState(0);
  const requestFocus = () => setFocusRequest((count) => count + 1);
  const turnsRef = useRef(turns);
  turnsRef.current = turns;

  const loadConversations = () =>
    request(CONVERSATIONS).then(
      (data) => setConversations(data.conversations),
      (error) => setProblem(explainError(error)),
    );
  useEffect(() => void loadConversations(), []);
  // The picker is a convenience: without agents (or without the right to list them) it stays hidden.
  useEffect(() => {
    request(AGENT_NAMES).then(
      (data) => setAgents(data.agents),
      () => undefined,
    );
  }, []);

  // Opening another conversation (a link, back/forward): load it, unless it is the one on screen.
  useEffect(() => {
    if (routeId === conversationId) return;
    stopRef.current?.();
    setConversationId(routeId);
    setProblem(null);
    if (!routeId) return setTurns([]);
    request(CONVERSATION, { id: routeId }).then(
      (data) => {
        if (!data.conversation)
          return setProblem(explain('NOT_FOUND', 'This conversation does not exist or is not yours'));
        setTurns(
          // TOOL messages (the results of the reply before them) have no text: not shown as turns.
          data.conversation.messages.flatMap((stored): Turn[] =>
            stored.role === 'TOOL'
              ? []
              : [
                  {
                    key: stored.id,
                    role: stored.role,
                    parts: textParts(stored.content),
                    model: stored.model,
                    keySource: stored.keySource,
                    state: 'done',
                  },
                ],
          ),
        );
      },
      (error) => setProblem(explainError(error)),
    );
  }, [routeId]);

  useEffect(() => listEnd.current?.scrollIntoView({ block: 'end' }), [turns]);
  useEffect(() => () => stopRef.current?.(), []);

  // A tool call arrived or was answered: the first open call's output field takes the focus,
  // unless the user is already typing in one. A counter, so that the effect runs after the render
  // that shows the change.
  useEffect(() => {
    if (!focusRequest || document.activeElement?.closest('.tool-call.open')) return;
    document.querySelector<HTMLTextAreaElement>('.tool-call.open textarea')?.focus();
  }, [focusRequest]);

  const updateLast = (change: (turn: Turn) => Turn) =>
    setTurns((current) => current.map((turn, index) => (index === current.length - 1 ? change(turn) : turn)));
  const updateTurn = (key: string, change: (turn: Turn) => Turn) =>
    setTurns((current) => current.map((turn) => (turn.key === key ? change(turn) : turn)));
  const updateCall = (turnKey: string, callId: string, change: (call: ToolCallState) => ToolCallState) =>
    updateTurn(turnKey, (turn) => mapCalls(turn, (call) => (call.id === callId ? change(call) : call)));

  const submitResults = async (turnKey: string, requestId: string, batch: ToolCallState[]) => {
    const ids = new Set(batch.map((call) => call.id));
    updateTurn(turnKey, (turn) => ({
      ...mapCalls(turn, (call) => (ids.has(call.id) ? { ...call, status: 'sending' } : call)),
      toolProblem: undefined,
    }));
    try {
      // On the chat's socket: the replica running the chat holds its open calls.
      await mutateOnChatSocket(session.token, SUBMIT_TOOL_RESULTS, {
        requestId,
        results: batch.map((call) => ({ toolCallId: call.id, output: call.output, isError: call.isError })),
      });
      updateTurn(turnKey, (turn) =>
        mapCalls(turn, (call) =>
          ids.has(call.id) && call.status === 'sending' ? { ...call, status: 'answered' } : call,
        ),
      );
    } catch (error) {
      // Refused (NOT_FOUND: no longer open; BAD_USER_INPUT: e.g. too long): the answers stay editable,
      // and Send result on any of them sends the step again — while the chat still runs.
      updateTurn(turnKey, (turn) => {
        const status = turn.state === 'streaming' ? 'ready' : 'closed';
        return {
          ...mapCalls(turn, (call) => (ids.has(call.id) && call.status === 'sending' ? { ...call, status } : call)),
          toolProblem: explainError(error),
        };
      });
    }
  };

  /** An answered call waits for the other open calls of its step; the last answer sends them all. */
  const answerCall = (turnKey: string, callId: string) => {
    const turn = turnsRef.current.find((candidate) => candidate.key === turnKey);
    if (!turn) return;
    const answered = (call: ToolCallState): ToolCallState =>
      call.id === callId && call.status === 'open' ? { ...call, status: 'ready' } : call;
    // The next open call of the step (if any) takes the focus.
    requestFocus();
    updateCall(turnKey, callId, answered);
    const batch = readyToSubmit(toolCalls(turn).map(answered));
    if (batch.length && turn.requestId) void submitResults(turnKey, turn.requestId, batch);
  };

  const send = (event?: Event) => {
    event?.preventDefault();
    const text = message.trim();
    if (!text || streaming) return;
    const tools = parseTools(toolsText);
    if (!tools.ok) {
      setToolsError(tools.error);
      setToolsOpen(true);
      requestAnimationFrame(() => toolsBox.current?.focus());
      return;
    }
    setToolsError(null);
    setProblem(null);
    setMessage('');
    setTurns((current) => [
      ...current,
      { key: nextKey(), role: 'USER', parts: textParts(text), state: 'done' },
      { key: nextKey(), role: 'ASSISTANT', parts: [], state: 'streaming' },
    ]);
    setStreaming(true);
    const choice = session.choice;
    const input = {
      message: text,
      ...(conversationId ? { conversationId } : {}),
      ...(choice ? { model: choice.model, keySource: choice.keySource } : {}),
      ...(agentId ? { agentId } : {}),
      ...(tools.tools.length ? { tools: tools.tools } : {}),
    };
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      stopRef.current = null;
      setStreaming(false);
      updateLast(closeOpenCalls);
      void loadConversations();
      messageBox.current?.focus();
    };
    const onEvent = (chatEvent: ChatEvent) => {
      switch (chatEvent.__typename) {
        case 'ChatStarted':
          setConversationId(chatEvent.conversationId);
          if (chatEvent.conversationId !== routeId) navigate(`/chat/${chatEvent.conversationId}`, true);
          updateLast((turn) => ({
            ...turn,
            requestId: chatEvent.requestId,
            model: chatEvent.model,
            keySource: chatEvent.keySource,
          }));
          break;
        case 'ChatDelta':
          updateLast((turn) => ({ ...turn, parts: appendText(turn.parts, chatEvent.text) }));
          break;
        case 'ChatToolCall':
          requestFocus();
          updateLast((turn) => ({ ...turn, parts: [...turn.parts, { kind: 'tool', call: newToolCall(chatEvent) }] }));
          break;
        case 'ChatCompleted':
          updateLast((turn) => ({ ...turn, state: 'done', usage: chatEvent.usage }));
          break;
        case 'ChatFailed':
          updateLast((turn) => ({ ...turn, state: 'failed', problem: explain(chatEvent.code, chatEvent.message) }));
          break;
      }
    };
    stopRef.current = streamChat(session.token, input, {
      event: onEvent,
      error: (code, errorMessage, extensions) =>
        updateLast((turn) => ({ ...turn, state: 'failed', problem: explain(code, errorMessage, extensions) })),
      done: finish,
    });
    const unsubscribe = stopRef.current;
    stopRef.current = () => {
      unsubscribe();
      updateLast((turn) => (turn.state === 'streaming' ? { ...turn, state: 'stopped' } : turn));
      finish();
    };
  };

  const stop = () => stopRef.current?.();
  const newConversation = () => {
    stopRef.current?.();
    navigate('/chat');
    messageBox.current?.focus();
  };

  const modelLabel = session.choice ? session.choice.label : 'default (best available key)';
  const allowed = canChat(session.me);

  return (
    <div class="chat">
      <nav class="conversations" aria-label="Conversations">
        <h2>Conversations</h2>
        <button type="button" onClick={newConversation}>
          New conversation
        </button>
        <ul>
          {conversations.map((conversation) => (
            <li>
              <a
                href={`/chat/${conversation.id}`}
                aria-current={conversation.id === conversationId ? 'page' : undefined}
              >
                {conversation.title || 'Untitled'}
              </a>
            </li>
          ))}
          {conversations.length === 0 && <li class="hint">No conversations yet.</li>}
        </ul>
      </nav>
      <section class="thread" aria-labelledby="chat-heading">
        <h1 id="chat-heading">{conversations.find((c) => c.id === conversationId)?.title || 'New conversation'}</h1>
        <Problem problem={problem} />
        <ol class="messages" aria-labelledby="chat-heading" aria-live="polite">
          {turns.map((turn) => (
            <TurnView
              turn={turn}
              onCallChange={(callId, change) => updateCall(turn.key, callId, (call) => ({ ...call, ...change }))}
              onCallAnswer={(callId) => answerCall(turn.key, callId)}
            />
          ))}
        </ol>
        <div ref={listEnd} />
        {!allowed && <p class="hint">Auditors can read usage and the audit log but cannot chat.</p>}
        <form class="composer" onSubmit={send}>
          <label for="message">Message</label>
          <textarea
            id="message"
            ref={messageBox}
            rows={3}
            value={message}
            disabled={!allowed}
            aria-describedby="message-help"
            onInput={(event) => setMessage(event.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) send(event);
            }}
          />
          <p id="message-help" class="hint">
            Enter sends, Shift+Enter starts a new line.
          </p>
          <details
            class="advanced"
            open={toolsOpen}
            onToggle={(event) => setToolsOpen((event.currentTarget as HTMLDetailsElement).open)}
          >
            <summary>Tools{toolsText.trim() ? ' (set)' : ''}</summary>
            <label for="chat-tools">Tools (JSON)</label>
            <textarea
              id="chat-tools"
              placeholder={TOOLS_EXAMPLE}
              ref={toolsBox}
              rows={6}
              value={toolsText}
              spellcheck={false}
              aria-invalid={toolsError ? true : undefined}
              aria-describedby={toolsError ? 'chat-tools-help chat-tools-error' : 'chat-tools-help'}
              onInput={(event) => {
                setToolsText(event.currentTarget.value);
                setToolsError(null);
              }}
            />
            <p id="chat-tools-help" class="hint">
              A JSON array of <code>{'{"name", "description", "inputSchema"}'}</code>, added to the agent's tools. When
              the model calls one, answer it by hand in the reply.
            </p>
            {toolsError && (
              <p id="chat-tools-error" class="problem" role="alert">
                {toolsError}.
              </p>
            )}
          </details>
          <div class="composer-actions">
            {agents.length > 0 && (
              <span class="agent-picker">
                <label for="chat-agent">Agent</label>
                <select id="chat-agent" value={agentId} onChange={(event) => setAgentId(event.currentTarget.value)}>
                  <option value="">None</option>
                  {agents.map((agent) => (
                    <option value={agent.id}>{agent.name}</option>
                  ))}
                </select>
              </span>
            )}
            <button type="button" class="model-button" onClick={() => setDialogTab('models')} aria-haspopup="dialog">
              Model: {modelLabel}
            </button>
            {streaming ? (
              <button type="button" class="danger" onClick={stop}>
                Stop
              </button>
            ) : (
              <button type="submit" class="primary" disabled={!allowed || !message.trim()}>
                Send
              </button>
            )}
          </div>
        </form>
      </section>
      {dialogTab && <ModelDialog tab={dialogTab} onTab={setDialogTab} onClose={() => setDialogTab(null)} />}
    </div>
  );
}

const WHO: Record<Turn['role'], string> = { USER: 'You', ASSISTANT: 'Assistant' };

interface TurnViewProps {
  turn: Turn;
  onCallChange(callId: string, change: Partial<Pick<ToolCallState, 'output' | 'isError'>>): void;
  onCallAnswer(callId: string): void;
}

function TurnView({ turn, onCallChange, onCallAnswer }: TurnViewProps) {
  const who = WHO[turn.role];
  const problemId = turn.toolProblem ? `${turn.key}-tool-problem` : undefined;
  const waiting = toolCalls(turn).some((call) => call.status !== 'answered' && call.status !== 'closed');
  return (
    <li class={`turn ${turn.role.toLowerCase()} ${turn.state}`} aria-busy={turn.state === 'streaming' && !waiting}>
      <span class="who">{who}</span>
      {/* Model output is text: Preact puts it into a text node, never into innerHTML. */}
      {turn.parts.map((part) =>
        part.kind === 'text' ? (
          <p class="text">{part.text}</p>
        ) : (
          <ToolCallCard
            call={part.call}
            problemId={problemId}
            onChange={(change) => onCallChange(part.call.id, change)}
            onAnswer={() => onCallAnswer(part.call.id)}
          />
        ),
      )}
      {turn.parts.length === 0 && <p class="text">{turn.state === 'streaming' ? '…' : ''}</p>}
      {problemId && (
        <div id={problemId}>
          <Problem problem={turn.toolProblem!} />
        </div>
      )}
      {turn.role === 'ASSISTANT' && <TurnFacts turn={turn} />}
      {turn.problem && <Problem problem={turn.problem} />}
    </li>
  );
}

function TurnFacts({ turn }: { turn: Turn }) {
  const facts: string[] = [];
  if (turn.model) facts.push(turn.model);
  if (turn.keySource) facts.push(KEY_SOURCE_WORDS[turn.keySource] ?? turn.keySource);
  if (turn.usage) {
    facts.push(`${integer(turn.usage.inputTokens)} in / ${integer(turn.usage.outputTokens)} out tokens`);
    facts.push(usd(turn.usage.costUsd));
  }
  if (turn.state === 'stopped') facts.push('stopped');
  if (turn.state === 'streaming')
    facts.push(
      toolCalls(turn).some((call) => call.status === 'open' || call.status === 'ready')
        ? 'waiting for tool results…'
        : 'streaming…',
    );
  if (!facts.length) return null;
  return <p class="facts">{facts.join(' · ')}</p>;
}

/** The model selection (and API Keys) as a modal dialog over the chat. */
function ModelDialog({ tab, onTab, onClose }: { tab: string; onTab(tab: string): void; onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current!;
    const opener = document.activeElement as HTMLElement | null;
    element.showModal();
    return () => opener?.focus();
  }, []);
  return (
    <dialog ref={dialog} class="model-dialog" aria-labelledby="model-dialog-title" onCancel={onClose} onClose={onClose}>
      <div class="dialog-head">
        <h2 id="model-dialog-title">Model and keys</h2>
        <button type="button" onClick={onClose} aria-label="Close">
          ×
        </button>
      </div>
      <KeysAndModels tab={tab} onTab={onTab} onDone={onClose} />
    </dialog>
  );
}
