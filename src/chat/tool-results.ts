import type { Caller } from '../auth/caller';
import { assertCan } from '../auth/policy';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditLog } from '../audit/audit-log';
import { callerFacts } from '../audit/audited';
import { badInput, notFound } from '../common/errors';
import type { PendingToolCalls, ToolResult } from './pending-tool-calls';
import type { ToolResultInput } from './tool-result.input';

const utf8Bytes = (value: string): number => Buffer.byteLength(value, 'utf8');

/**
 * submitToolResults: hands a client's tool results to the chat waiting for them in this process
 * (PendingToolCalls), and audits each answered call as `tool.call` with its tool name and the
 * sizes of its input and output, never their content.
 */
export class ToolResults {
  constructor(
    private readonly pending: PendingToolCalls,
    private readonly audit: AuditLog,
    private readonly maxOutputBytes: number,
  ) {}

  async submit(caller: Caller, requestId: string, inputs: readonly ToolResultInput[]): Promise<boolean> {
    assertCan(caller.principal, 'chat.submitToolResults');
    if (inputs.length === 0) throw badInput('results must not be empty', 'results');
    const results: ToolResult[] = inputs.map((input) => ({
      toolCallId: input.toolCallId,
      output: input.output,
      isError: input.isError ?? false,
    }));
    for (const result of results) {
      if (utf8Bytes(result.output) > this.maxOutputBytes) {
        throw badInput(`output must be at most ${this.maxOutputBytes} bytes`, 'results');
      }
    }
    const answered = this.pending.submit(requestId, caller.principal.userId, results);
    if (answered.length === 0) throw notFound('Tool call');
    for (const { call, result } of answered) {
      await this.audit.append({
        ...callerFacts(caller),
        requestId,
        action: 'tool.call',
        targetType: 'tool_call',
        targetId: null,
        outcome: result.isError ? AuditOutcome.FAILURE : AuditOutcome.SUCCESS,
        detail: {
          tool: call.name,
          toolCallId: call.id,
          inputBytes: call.inputBytes,
          outputBytes: utf8Bytes(result.output),
        },
      });
    }
    return true;
  }
}
