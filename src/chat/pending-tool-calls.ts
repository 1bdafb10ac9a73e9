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

interface PendingStep {
  userId: string;
  calls: Map<string, OpenToolCall>;
  results: Map<string, ToolResult>;
  settle: (answer: StepAnswer) => void;
}

/**
 * The tool calls of the chats running in this process that wait for their results, keyed by
 * request id. A chat's loop registers a step and waits; `submitToolResults` answers it. Only the
 * user who started the chat may answer, only open calls, each once: anything else is NOT_FOUND,
 * so a caller cannot learn which request ids exist. A step leaves the registry when it is fully
 * answered, times out or its chat goes away.
 */
export class PendingToolCalls {
  private readonly steps = new Map<string, PendingStep>();

  get size(): number {
    return this.steps.size;
  }

  /** Resolves with every call's result (in the calls' order), or when `timeoutMs` passes or `signal` aborts. */
  wait(
    requestId: string,
    userId: string,
    calls: readonly OpenToolCall[],
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<StepAnswer> {
    if (this.steps.has(requestId)) throw new Error(`request ${requestId} already waits for tool results`);
    return new Promise<StepAnswer>((resolve) => {
      const finish = (answer: StepAnswer): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.steps.delete(requestId);
        resolve(answer);
      };
      const onAbort = (): void => finish({ kind: 'aborted' });
      const timer = setTimeout(() => finish({ kind: 'timeout' }), timeoutMs);
      this.steps.set(requestId, {
        userId,
        calls: new Map(calls.map((call) => [call.id, call])),
        results: new Map(),
        settle: finish,
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Records results for open calls of `requestId` started by `userId`: all of them or none
   * (NOT_FOUND for an unknown request or call, another user's request, or a call answered
   * already). Continues the chat once every call of the step has its result.
   */
  submit(requestId: string, userId: string, results: readonly ToolResult[]): AnsweredCall[] {
    const step = this.steps.get(requestId);
    if (!step || step.userId !== userId) throw notFound('Tool call');
    const batch = new Set<string>();
    for (const result of results) {
      if (!step.calls.has(result.toolCallId) || step.results.has(result.toolCallId) || batch.has(result.toolCallId)) {
        throw notFound('Tool call');
      }
      batch.add(result.toolCallId);
    }
    const answered = results.map((result) => {
      step.results.set(result.toolCallId, result);
      return { call: step.calls.get(result.toolCallId)!, result };
    });
    if (step.results.size === step.calls.size) {
      step.settle({ kind: 'answered', results: [...step.calls.keys()].map((id) => step.results.get(id)!) });
    }
    return answered;
  }
}
