import { graphql } from './graphql';

export const SUBMIT_TOOL_RESULTS = graphql(`
  mutation SubmitToolResults($requestId: ID!, $results: [ToolResultInput!]!) {
    submitToolResults(requestId: $requestId, results: $results)
  }
`);

/**
 * A tool call the model made, answered by hand in the console.
 * open: waiting for the user; ready: answered, waiting for the other calls of its step (still
 * editable; also after the gateway refused the step); sending: submitToolResults in flight;
 * answered: the gateway took the result; closed: the chat ended before it was answered.
 */
export interface ToolCallState {
  id: string;
  name: string;
  input: unknown;
  status: 'open' | 'ready' | 'sending' | 'answered' | 'closed';
  output: string;
  isError: boolean;
}

export const newToolCall = (call: { id: string; name: string; input: unknown }): ToolCallState => ({
  id: call.id,
  name: call.name,
  input: call.input,
  status: 'open',
  output: '',
  isError: false,
});

/** The calls of a step go out together once none is left open (the gateway continues when all are answered). */
export function readyToSubmit(calls: readonly ToolCallState[]): ToolCallState[] {
  if (calls.some((call) => call.status === 'open' || call.status === 'sending')) return [];
  return calls.filter((call) => call.status === 'ready');
}

export const outputFieldId = (callId: string) => `tool-output-${callId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
