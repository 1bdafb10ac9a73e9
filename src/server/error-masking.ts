import { GraphQLError, Kind, type ASTNode, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../common/logger';
import { ErrorCode } from '../common/codes';

/** Codes a client may see: the resolvers', plus the server's own for requests no resolver saw. */
const PUBLIC_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

const originalOf = (error: unknown): unknown =>
  error instanceof GraphQLError && error.originalError ? originalOf(error.originalError) : error;

const codeOf = (error: unknown): string | undefined => {
  const code = error instanceof GraphQLError ? error.extensions?.code : undefined;
  return typeof code === 'string' ? code : undefined;
};

const NAME = '[_A-Za-z][_0-9A-Za-z]*';
const TYPE = '[_A-Za-z0-9!\\[\\]]+';
const VARIABLE_COERCION = new RegExp(`^Variable "\\$(${NAME})" got invalid value `);
/** graphql-js reasons that name types and fields only, never the value. */
const VALUE_FREE_REASONS = [
  new RegExp(`^Field "${NAME}" of required type "${TYPE}" was not provided\\.`),
  new RegExp(`^Field "${NAME}" is not defined by type "${NAME}"\\.`),
  new RegExp(`^Expected type "${TYPE}" to be an object\\.`),
  new RegExp(`^Enum "${NAME}" cannot represent non-string value`),
  /^(?:String|Int|Float|Boolean|ID) cannot represent [a-z0-9 -]*value/,
];
const ENUM_MISS = new RegExp(`does not exist in "(${NAME})" enum\\.(?: Did you mean .*)?$`, 's');

/**
 * graphql-js writes the value it could not coerce into the message, twice ("Variable "$input" got
 * invalid value <value> at "input.apiKey"; String cannot represent a non string value: <value>").
 * A variable may hold a provider key, so keep only the variable, the path and a value-free reason.
 */
export function withoutSubmittedValue(message: string): string {
  const variable = VARIABLE_COERCION.exec(message)?.[1];
  if (!variable) return message;
  const located = new RegExp(` at "(${variable}(?:\\.${NAME}|\\[\\d+\\])*)"; (.*)$`, 's').exec(message);
  const where = located ? ` at "${located[1]}"` : '';
  // Without a path the reason is about the whole object (a missing or unknown field): it comes last.
  const detail = located?.[2] ?? message.slice(message.lastIndexOf('; ') + 2);
  const kept = VALUE_FREE_REASONS.map((rule) => rule.exec(detail)?.[0]).find(Boolean);
  const enumName = ENUM_MISS.exec(detail)?.[1];
  const reason = kept ?? (enumName ? `not a value of enum "${enumName}"` : 'the value does not match its type');
  return `Variable "$${variable}" got an invalid value${where}; ${reason}`;
}

const VALUE_KINDS: ReadonlySet<string> = new Set([
  Kind.STRING,
  Kind.INT,
  Kind.FLOAT,
  Kind.BOOLEAN,
  Kind.NULL,
  Kind.ENUM,
  Kind.LIST,
  Kind.OBJECT,
]);
const EXPECTED_TYPE = new RegExp(`^Expected value of type "${TYPE}"`);
/** Messages about an inline value that name only fields and types: kept whole (with suggestions). */
const VALUE_FREE_LITERAL_MESSAGES = [
  new RegExp(`^Field "${NAME}(?:\\.${NAME})?" of required type "${TYPE}" was not provided\\.$`),
  new RegExp(`^Field "${NAME}" is not defined by type "${NAME}"\\.`),
];
/** The start of scalar and enum refusals, before the value they print. */
const VALUE_FREE_LITERAL_REASONS = [
  /^(?:String|Int|Float|Boolean|ID) cannot represent [a-z0-9 -]*value/,
  new RegExp(`^Enum "${NAME}" cannot represent non-enum value`),
];

const nodesOf = (error: unknown): readonly ASTNode[] => (error instanceof GraphQLError ? (error.nodes ?? []) : []);

/**
 * graphql-js prints the inline value it refuses into validation messages ("String cannot represent
 * a non string value: ["sk-ant-…"]", "Expected value of type "X", found …"), and a literal may be a
 * provider key typed into the wrong place. An error about a value node keeps only value-free text.
 */
export function withoutLiteralValue(message: string, nodes: readonly ASTNode[]): string {
  if (!nodes.some((node) => VALUE_KINDS.has(node.kind))) return message;
  if (VALUE_FREE_LITERAL_MESSAGES.some((rule) => rule.test(message))) return message;
  const expected = EXPECTED_TYPE.exec(message)?.[0];
  if (expected) return `${expected}, found a value that does not match it.`;
  const reason = VALUE_FREE_LITERAL_REASONS.map((rule) => rule.exec(message)?.[0]).find(Boolean);
  if (reason) return `${reason}.`;
  const enumName = ENUM_MISS.exec(message)?.[1];
  if (enumName) return `The value is not a value of enum "${enumName}".`;
  return 'The value does not match the type expected here.';
}

/** A parse error names the token it stopped at; a string or number token's text is dropped. */
const LITERAL_TOKEN = /((?:found|Unexpected) )(String|BlockString|Int|Float) "[\s\S]*"\.$/;

export const withoutLiteralToken = (message: string): string => message.replace(LITERAL_TOKEN, '$1$2.');

const clientMessage = (code: string, formatted: GraphQLFormattedError, error: unknown, original: unknown): string => {
  if (code === ErrorCode.BAD_USER_INPUT) return withoutSubmittedValue(formatted.message);
  if (code === ErrorCode.GRAPHQL_PARSE_FAILED) return withoutLiteralToken(formatted.message);
  if (code === ErrorCode.GRAPHQL_VALIDATION_FAILED) {
    return withoutLiteralValue(formatted.message, [...nodesOf(error), ...nodesOf(original)]);
  }
  return formatted.message;
};

/**
 * Keeps deliberate errors (a public code, set by us or by GraphQL itself) and replaces anything
 * else with INTERNAL_SERVER_ERROR and a request id, logging the real error under that id.
 * Never forwards stack traces or exception details.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  error: unknown,
  requestId: string | undefined,
  log: Logger,
): GraphQLFormattedError {
  const original = originalOf(error);
  const code = codeOf(original) ?? codeOf(error) ?? (formatted.extensions?.code as string | undefined);
  const deliberate = code !== undefined && code !== ErrorCode.INTERNAL_SERVER_ERROR && PUBLIC_CODES.has(code);
  if (deliberate) {
    const {
      stacktrace: _stack,
      exception: _exception,
      ...extensions
    } = (formatted.extensions ?? {}) as Record<string, unknown>;
    const message = clientMessage(code, formatted, error, original);
    return { message, locations: formatted.locations, path: formatted.path, extensions: { ...extensions, code } };
  }
  log.error({ requestId, err: original, path: formatted.path }, 'unexpected error');
  return {
    message: 'Internal server error',
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...(requestId ? { requestId } : {}) },
  };
}
