import { useEffect, useRef, useState } from 'preact/hooks';
import { request } from '../api';
import { streamChat, type ChatEvent } from '../chat-stream';
import { Problem } from '../components/problem';
import { explain, explainError, type Explained } from '../errors';
import { integer, KEY_SOURCE_WORDS, usd } from '../format';
import { graphql, type ResultOf } from '../graphql';
import { navigate } from '../router';
import { canChat, useSession } from '../session-context';
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

type ConversationSummary = ResultOf<typeof CONVERSATIONS>['conversations'][number];

interface Turn {
  key: string;
  role: 'USER' | 'ASSISTANT';
  text: string;
  model?: string | null;
  keySource?: string | null;
  usage?: { inputTokens: number; outputTokens: number; costUsd: number };
  state: 'done' | 'streaming' | 'stopped' | 'failed';
  problem?: Explained;
}

let turnCounter = 0;
const nextKey = () => `turn-${++turnCounter}`;

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

  const loadConversations = () =>
    request(CONVERSATIONS).then(
      (data) => setConversations(data.conversations),
      (error) => setProblem(explainError(error)),
    );
  useEffect(() => void loadConversations(), []);

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
          // TOOL messages (tool results, no text) are not shown as turns.
          data.conversation.messages.flatMap((stored) =>
            stored.role === 'TOOL'
              ? []
              : [
                  {
                    key: stored.id,
                    role: stored.role,
                    text: stored.content,
                    model: stored.model,
                    keySource: stored.keySource,
                    state: 'done' as const,
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

  const updateLast = (change: (turn: Turn) => Turn) =>
    setTurns((current) => current.map((turn, index) => (index === current.length - 1 ? change(turn) : turn)));

  const send = (event?: Event) => {
    event?.preventDefault();
    const text = message.trim();
    if (!text || streaming) return;
    setProblem(null);
    setMessage('');
    setTurns((current) => [
      ...current,
      { key: nextKey(), role: 'USER', text, state: 'done' },
      { key: nextKey(), role: 'ASSISTANT', text: '', state: 'streaming' },
    ]);
    setStreaming(true);
    const choice = session.choice;
    const input = {
      message: text,
      ...(conversationId ? { conversationId } : {}),
      ...(choice ? { model: choice.model, keySource: choice.keySource } : {}),
    };
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      stopRef.current = null;
      setStreaming(false);
      void loadConversations();
      messageBox.current?.focus();
    };
    const onEvent = (chatEvent: ChatEvent) => {
      switch (chatEvent.__typename) {
        case 'ChatStarted':
          setConversationId(chatEvent.conversationId);
          if (chatEvent.conversationId !== routeId) navigate(`/chat/${chatEvent.conversationId}`, true);
          updateLast((turn) => ({ ...turn, model: chatEvent.model, keySource: chatEvent.keySource }));
          break;
        case 'ChatDelta':
          updateLast((turn) => ({ ...turn, text: turn.text + chatEvent.text }));
          break;
        case 'ChatCompleted':
          updateLast((turn) => ({ ...turn, state: 'done', usage: chatEvent.usage }));
          break;
        case 'ChatFailed':
          updateLast((turn) => ({ ...turn, state: 'failed', problem: explain(chatEvent.code, chatEvent.message) }));
          break;
        case 'ChatToolCall':
          // Not selected by this page's subscription (it sends no tools); showing and answering calls is the tools page's job.
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
            <TurnView turn={turn} />
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
          <div class="composer-actions">
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

function TurnView({ turn }: { turn: Turn }) {
  const who = turn.role === 'USER' ? 'You' : 'Assistant';
  return (
    <li class={`turn ${turn.role.toLowerCase()} ${turn.state}`} aria-busy={turn.state === 'streaming'}>
      <span class="who">{who}</span>
      {/* Model output is text: Preact puts it into a text node, never into innerHTML. */}
      <p class="text">{turn.text || (turn.state === 'streaming' ? '…' : '')}</p>
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
  if (turn.state === 'streaming') facts.push('streaming…');
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
