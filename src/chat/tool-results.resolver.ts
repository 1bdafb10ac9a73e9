import { Arg, Authorized, ID, Mutation, Resolver } from 'type-graphql';
import type { Caller } from '../auth/caller';
import { CurrentCaller } from '../auth/current-caller';
import { ToolResultInput } from './tool-result.input';
import type { ToolResults } from './tool-results';

@Resolver()
export class ToolResultsResolver {
  constructor(private readonly toolResults: ToolResults) {}

  @Authorized()
  @Mutation(() => Boolean, {
    description:
      'Answers open ChatToolCalls of your own chat `requestId` (the ChatStarted requestId); the chat goes on once every call of the step is answered. Anything else: NOT_FOUND. Send it to the replica that runs the chat (docs/api.md).',
  })
  async submitToolResults(
    @Arg('requestId', () => ID) requestId: string,
    @Arg('results', () => [ToolResultInput]) results: ToolResultInput[],
    @CurrentCaller() caller: Caller,
  ): Promise<boolean> {
    return this.toolResults.submit(caller, requestId, results);
  }
}
