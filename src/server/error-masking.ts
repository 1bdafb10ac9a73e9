import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../common/logger';
import { ErrorCode } from '../common/errors';

/** Codes a client may see: the contract's, plus the server's own for requests no resolver saw. */
const PUBLIC_CODES: ReadonlySet<string> = new Set([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const originalOf = (error: unknown): unknown =>
  error instanceof GraphQLError && error.originalError ? originalOf(error.originalError) : error;

const codeOf = (error: unknown): string | undefined => {
  const code = error instanceof GraphQLError ? error.extensions?.code : undefined;
  return typeof code === 'string' ? code : undefined;
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
    const { stacktrace: _stack, exception: _exception, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { ...extensions, code } };
  }
  log.error({ requestId, err: original, path: formatted.path }, 'unexpected error');
  return {
    message: 'Internal server error',
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, ...(requestId ? { requestId } : {}) },
  };
}
