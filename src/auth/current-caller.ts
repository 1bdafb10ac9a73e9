import { createParameterDecorator, type ResolverData } from 'type-graphql';
import { callerOf, type RequestContext } from './request-context';

/**
 * The operation's caller, for a resolver method: `@CurrentCaller() caller: Caller`. Raises what
 * `callerOf` raises (the refused credentials' error, or UNAUTHENTICATED).
 */
export function CurrentCaller() {
  return createParameterDecorator(({ context }: ResolverData<RequestContext>) => callerOf(context));
}

/**
 * The operation's entity manager, for a field resolver that only loads rows its parent already
 * admitted: `@RequestEm() em: EntityManager`. Asks nothing of the credentials.
 */
export function RequestEm() {
  return createParameterDecorator(({ context }: ResolverData<RequestContext>) => context.em);
}
