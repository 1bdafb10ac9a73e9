import { GraphQLError } from 'graphql';

/** The error codes of the public contract. Anything else reaching a client is masked. */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  PERSONAL_KEY_MISSING: 'PERSONAL_KEY_MISSING',
  TENANT_KEY_MISSING: 'TENANT_KEY_MISSING',
  NO_CREDENTIAL: 'NO_CREDENTIAL',
  PLATFORM_KEY_DISABLED: 'PLATFORM_KEY_DISABLED',
  UNKNOWN_MODEL: 'UNKNOWN_MODEL',
  MODEL_NOT_ALLOWED: 'MODEL_NOT_ALLOWED',
  INVALID_PROVIDER_KEY: 'INVALID_PROVIDER_KEY',
  RATE_LIMITED: 'RATE_LIMITED',
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  PLATFORM_BUDGET_EXCEEDED: 'PLATFORM_BUDGET_EXCEEDED',
  KEY_UNAVAILABLE: 'KEY_UNAVAILABLE',
  UPSTREAM_ERROR: 'UPSTREAM_ERROR',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

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
