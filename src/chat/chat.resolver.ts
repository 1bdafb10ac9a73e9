import { Arg, Resolver, Root, Subscription } from 'type-graphql';
import { callerOf, type RequestContext } from '../auth/request-context';
import { ChatEvent, type ChatEventPayload } from './chat-event.type';
import { ChatInput } from './chat.input';

@Resolver()
export class ChatResolver {
  @Subscription(() => ChatEvent, {
    description:
      'Streams one assistant reply. Failures before ChatStarted are GraphQL errors; after it, a ChatFailed event.',
    // Authentication, roles and input validation happen in ChatService.start: type-graphql's
    // auth and validation run on the resolve step, which comes too late for a stream.
    subscribe: ({ args, context }) => {
      const ctx = context as RequestContext;
      return ctx.chat.start(callerOf(ctx), args.input) as Promise<AsyncIterableIterator<ChatEventPayload>>;
    },
  })
  // Declares the field's argument and type; at run time the schema passes events through as they are (see schema.ts).
  chat(@Root() event: ChatEventPayload, @Arg('input', { validate: false }) _input: ChatInput): ChatEventPayload {
    return event;
  }
}
