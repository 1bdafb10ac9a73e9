import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Provider key shapes (Anthropic, OpenAI, OpenRouter, GitHub, Linear) and our own bearer tokens.
 * Anything matching is replaced before a line is written, as a last line of defence behind
 * the rule that plaintext keys are never logged in the first place.
 */
const SECRET_SHAPES =
  /\b(?:sk-ant-[A-Za-z0-9_-]{8,}|sk-or-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|lin_api_[A-Za-z0-9]{20,}|kw_[A-Za-z0-9_-]{20,})/g;

export const redactSecrets = (text: string): string => text.replace(SECRET_SHAPES, '[REDACTED]');

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'variables.input.apiKey',
  '*.variables.input.apiKey',
  'connectionParams.authorization',
  'token',
  '*.token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: {
        streamWrite: (line) => redactSecrets(line),
      },
    },
    destination,
  );
}
