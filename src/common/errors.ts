import { GraphQLError } from 'graphql';
import { ErrorCode } from './codes';

export { ErrorCode } from './codes';

/** A deliberate error: its message and code are safe to show to the client. */
export class KeywardError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { ...extra, code } });
    this.name = 'KeywardError';
  }
}

export const unauthenticated = (message = 'Authentication required: send Authorization: Bearer <token>') =>
  new KeywardError(ErrorCode.UNAUTHENTICATED, message);

export const forbidden = (message = 'Your role does not allow this operation') =>
  new KeywardError(ErrorCode.FORBIDDEN, message);

export const notFound = (what: string) => new KeywardError(ErrorCode.NOT_FOUND, `${what} not found`);

export const badInput = (message: string, field?: string) =>
  new KeywardError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});

export const keyUnavailable = (message = 'The key for this request cannot be used right now') =>
  new KeywardError(ErrorCode.KEY_UNAVAILABLE, message);

export const isKeywardError = (error: unknown): error is KeywardError => error instanceof KeywardError;
