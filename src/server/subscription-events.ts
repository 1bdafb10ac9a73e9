import {
  createSourceEventStream,
  execute,
  GraphQLObjectType,
  GraphQLSchema,
  isObjectType,
  Kind,
  visit,
  type ASTNode,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type OperationDefinitionNode,
} from 'graphql';
import { mapAsyncIterator } from 'graphql/execution/mapAsyncIterator';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import type { ChatDelta } from '../chat/chat-event.type';
import {
  deltaTemplate,
  isDivertible,
  writeDeltasDirectly,
  type DeltaTemplate,
  type DirectSink,
} from './ws/direct-deltas';

type SubscriptionResult = AsyncIterableIterator<ExecutionResult> | ExecutionResult;

/** Runs the operation's selection set on one event, as graphql-js's `execute` would. */
type EventExecutor = (payload: unknown) => ExecutionResult | Promise<ExecutionResult>;

/**
 * graphql-js's `subscribe`, with a cheaper step per event. graphql-js runs `execute()` again
 * for every event, which re-coerces the operation's variables and the root field's arguments
 * each time, although they only matter when the stream is created, and interprets the selection
 * set anew (fifty times per chat reply: the largest single cost of relaying a delta). When the
 * variables are used by the root field's arguments alone, events are executed against a copy of
 * the document without variables or root arguments, on a copy of the schema whose subscription
 * fields take none, compiled once per document with graphql-jit. The root field's resolver still
 * runs per event, with no arguments; Keyward's `chat` resolver passes the event through. Any
 * other document takes graphql-js's own path.
 *
 * With a lean query and a `sinkOf` for the operation, ChatDelta events skip even that: their
 * `next` message is a template cut once from the compiled query's result (see direct-deltas.ts),
 * written straight to the socket as the delta is pushed.
 */
export function createSubscriber(
  schema: GraphQLSchema,
  sinkOf: (args: ExecutionArgs) => DirectSink | undefined = () => undefined,
): (args: ExecutionArgs) => Promise<SubscriptionResult> {
  const eventSchema = withoutSubscriptionArguments(schema);
  /** Per document: the compiled lean query, or null for graphql-js's own path. */
  const leanQueries = new WeakMap<DocumentNode, LeanQuery | null>();
  const leanQueryOf = (args: ExecutionArgs): LeanQuery | null => {
    let lean = leanQueries.get(args.document);
    if (lean === undefined) {
      const document = leanEventDocument(args.document, args.operationName);
      const compiled = document && compileQuery(eventSchema, document, args.operationName ?? undefined);
      lean = compiled && isCompiledQuery(compiled) ? compiled : null;
      leanQueries.set(args.document, lean);
    }
    return lean;
  };
  const templates = new WeakMap<LeanQuery, DeltaTemplate | null>();
  const templateOf = (lean: LeanQuery, contextValue: unknown): DeltaTemplate | null => {
    let template = templates.get(lean);
    if (template === undefined) {
      template = deltaTemplate((event: ChatDelta) => lean.query(event, contextValue, {}));
      templates.set(lean, template);
    }
    return template;
  };

  return async (args) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const lean = leanQueryOf(args);
    if (!lean)
      return mapAsyncIterator(source, (payload) => execute({ ...args, rootValue: payload }) as ExecutionResult);
    const sink = sinkOf(args);
    if (sink && isDivertible(source)) {
      const template = templateOf(lean, args.contextValue);
      if (template) writeDeltasDirectly(source, sink, template);
    }
    return mapEvents(
      source,
      (payload) => lean.query(payload, args.contextValue, {}) as ExecutionResult | Promise<ExecutionResult>,
    );
  };
}

/**
 * graphql-js's mapAsyncIterator with one promise per event instead of several (its async
 * wrappers cost more than the compiled query itself). Ending the mapped iterator ends the
 * source, and a mapping that throws ends the source too.
 */
function mapEvents<T>(source: AsyncIterable<T>, run: EventExecutor): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const close = (): Promise<IteratorResult<ExecutionResult, void>> =>
    Promise.resolve(iterator.return?.()).then(() => ({ value: undefined, done: true }));
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    next: () =>
      iterator
        .next()
        .then((result): IteratorResult<ExecutionResult, void> | Promise<IteratorResult<ExecutionResult, void>> => {
          if (result.done) return { value: undefined, done: true };
          try {
            const value = run(result.value);
            return isPromise(value)
              ? value.then((resolved) => ({ value: resolved, done: false }))
              : { value, done: false };
          } catch (error) {
            return close().then(() => Promise.reject(error));
          }
        }),
    return: close,
    throw: (error: unknown) => close().then(() => Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> =>
  typeof (value as Promise<T> | null)?.then === 'function';

interface LeanQuery {
  query(root: unknown, context: unknown, variables: Record<string, unknown>): unknown;
}

/** The schema with the same types, except that subscription fields declare no arguments. */
function withoutSubscriptionArguments(schema: GraphQLSchema): GraphQLSchema {
  const subscription = schema.getSubscriptionType();
  if (!subscription) return schema;
  const config = subscription.toConfig();
  const fields = Object.fromEntries(
    Object.entries(config.fields).map(([name, field]) => [name, { ...field, args: {} }]),
  );
  const schemaConfig = schema.toConfig();
  return new GraphQLSchema({
    ...schemaConfig,
    subscription: new GraphQLObjectType({ ...config, fields }),
    types: schemaConfig.types.filter((type) => !(isObjectType(type) && type === subscription)),
  });
}

/** The operation without variables and root arguments, or null when its variables are used elsewhere. */
function leanEventDocument(document: DocumentNode, operationName: string | null | undefined): DocumentNode | null {
  const operations = document.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = operationName
    ? operations.find((candidate) => candidate.name?.value === operationName)
    : operations[0];
  if (!operation || operation.operation !== 'subscription') return null;
  if (!operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD)) return null;
  const rootFields = new Set(operation.selectionSet.selections as readonly FieldNode[]);

  const inRootArguments = [...rootFields].reduce(
    (sum, field) => sum + (field.arguments ?? []).reduce((inField, argument) => inField + variableUses(argument), 0),
    0,
  );
  if (variableUses(document) !== inRootArguments) return null;

  const lean: OperationDefinitionNode = {
    ...operation,
    variableDefinitions: [],
    selectionSet: {
      ...operation.selectionSet,
      selections: (operation.selectionSet.selections as readonly FieldNode[]).map((field) => ({
        ...field,
        arguments: [],
      })),
    },
  };
  return {
    ...document,
    definitions: document.definitions.map((definition) => (definition === operation ? lean : definition)),
  };
}

/** How many times variables are read in `node` (their definitions do not count). */
function variableUses(node: ASTNode): number {
  let uses = 0;
  visit(node, {
    VariableDefinition: () => false,
    Variable: () => {
      uses++;
    },
  });
  return uses;
}

function isAsyncIterable<T>(value: unknown): value is AsyncIterable<T> {
  return typeof (value as AsyncIterable<T> | null)?.[Symbol.asyncIterator] === 'function';
}
