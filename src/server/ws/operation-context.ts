import { GraphQLError } from 'graphql';
import type { RequestContext } from '../../auth/request-context';
import type { ConnectionFacts, ContextFactory } from '../context-factory';

/**
 * The operation's context, authenticated like an HTTP request. A failure to build it (the
 * database, say) is the operation's error, masked and logged under its request id in onError,
 * instead of closing the socket.
 */
export async function operationContext(
  contexts: ContextFactory,
  facts: ConnectionFacts,
): Promise<RequestContext | GraphQLError[]> {
  try {
    return await contexts.create(facts);
  } catch (error) {
    return [new GraphQLError('Internal server error', { originalError: error instanceof Error ? error : undefined })];
  }
}
