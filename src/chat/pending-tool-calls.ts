import { notFound } from '../common/errors';

/** A tool call the model made, as the loop waits for it. */
export interface OpenToolCall {
  id: string;
  name: string;
  /** UTF-8 bytes of the input as JSON, for the audit event (never the input itself). */
  inputBytes: number;
}

export interface ToolResult {
  toolCallId: string;
  output: string;
  isError: boolean;
}

/** An accepted result and the call it answers (for the audit event). */
export interface AnsweredCall {
  call: OpenToolCall;
  result: ToolResult;
}

export type StepAnswer = { kind: 'answered'; results: ToolResult[] } | { kind: 'timeout' } | { kind: 'aborted' };

/**
 * The tool calls of one step of a chat, from the first call the model streams until the step is
 * answered or the chat ends. Results may arrive as soon as a call has been sent to the client,
 * before the model's reply (or the step's bookkeeping) has finished.
 */
export class ToolStep {
  private readonly calls = new Map<string, OpenToolCall>();
  private readonly results = new Map<string, ToolResult>();
  private settle: ((answer: StepAnswer) => void) | null = null;

  constructor(
    readonly userId: string,
    private readonly forget: () => void,
  ) {}

  add(call: OpenToolCall): void {
    this.calls.set(call.id, call);
  }

  /**
   * Resolves with every call's result (in the calls' order) once all are answered, or when
   * `timeoutMs` passes or `signal` aborts. The step leaves the registry either way.
   */
  wait(timeoutMs: number, signal: AbortSignal): Promise<StepAnswer> {
    return new Promise<StepAnswer>((resolve) => {
      const finish = (answer: StepAnswer): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.settle = null;
        this.close();
        resolve(answer);
      };
      const onAbort = (): void => finish({ kind: 'aborted' });
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      this.settle = finish;
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      this.settleIfAnswered();
    });
  }

  /** Takes the step out of the registry: its calls can no longer be answered. */
  close(): void {
    this.forget();
  }

  /** All of `results` for open, unanswered calls of this step, or none (NOT_FOUND). */
  accept(results: readonly ToolResult[]): AnsweredCall[] {
    const batch = new Set<string>();
    for (const { toolCallId } of results) {
      if (!this.calls.has(toolCallId) || this.results.has(toolCallId) || batch.has(toolCallId)) {
        throw notFound('Tool call');
      }
      batch.add(toolCallId);
    }
    const answered = results.map((result) => {
      this.results.set(result.toolCallId, result);
      return { call: this.calls.get(result.toolCallId)!, result };
    });
    this.settleIfAnswered();
    return answered;
  }

  private settleIfAnswered(): void {
    if (!this.settle || this.results.size < this.calls.size) return;
    this.settle({ kind: 'answered', results: [...this.calls.keys()].map((id) => this.results.get(id)!) });
  }
}

/**
 * The tool steps of the chats running in this process, keyed by request id. A chat opens a step
 * at the first tool call its model streams; `submitToolResults` answers it. Only the user who
 * started the chat may answer, only open calls, each once: anything else is NOT_FOUND, so a
 * caller cannot learn which request ids exist. A step leaves the registry when it is answered,
 * times out or its chat ends.
 */
export class PendingToolCalls {
  private readonly steps = new Map<string, ToolStep>();

  get size(): number {
    return this.steps.size;
  }

  open(requestId: string, userId: string): ToolStep {
    const step: ToolStep = new ToolStep(userId, () => {
      if (this.steps.get(requestId) === step) this.steps.delete(requestId);
    });
    this.steps.set(requestId, step);
    return step;
  }

  /** Records results for open calls of `requestId` started by `userId` (see ToolStep.accept). */
  submit(requestId: string, userId: string, results: readonly ToolResult[]): AnsweredCall[] {
    const step = this.steps.get(requestId);
    if (!step || step.userId !== userId) throw notFound('Tool call');
    return step.accept(results);
  }
}
