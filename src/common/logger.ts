import pino, { type Logger, type DestinationStream } from 'pino';
import { boundedText } from './bounded-text';

export type { Logger };

/**
 * Provider key shapes (Anthropic, OpenAI, OpenRouter, GitHub, Linear) and our own bearer tokens.
 * Anything matching is replaced before a line is written, as a last line of defence behind
 * the rule that plaintext keys are never logged in the first place.
 */
const SECRET_SHAPES =
  /\b(?:sk-ant-[A-Za-z0-9_-]{8,}|sk-or-[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|lin_api_[A-Za-z0-9]{20,}|kw_[A-Za-z0-9_-]{20,})/g;

export const redactSecrets = (text: string): string => text.replace(SECRET_SHAPES, '[REDACTED]');

/** Longest log line written; a longer one has its long strings cut (see boundLine). */
export const MAX_LOG_LINE_LENGTH = 16_384;
const CUT_STRING_LENGTH = 1_024;

const cutStrings = (value: unknown): unknown => {
  if (typeof value === 'string') return boundedText(value, CUT_STRING_LENGTH);
  if (Array.isArray(value)) return value.map(cutStrings);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, each]) => [key, cutStrings(each)]));
  return value;
};

/**
 * Every line at most MAX_LOG_LINE_LENGTH characters, whatever a client managed to put into an
 * error message or a field: the last line of defence behind capping client-supplied text where it
 * is logged.
 */
export function boundLine(line: string): string {
  if (line.length <= MAX_LOG_LINE_LENGTH) return line;
  try {
    const cut = `${JSON.stringify(cutStrings(JSON.parse(line)))}\n`;
    if (cut.length <= MAX_LOG_LINE_LENGTH) return cut;
  } catch {
    // not one JSON object: cut below
  }
  return `${JSON.stringify({ msg: 'log line too long', start: line.slice(0, CUT_STRING_LENGTH) })}\n`;
}

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
        streamWrite: (line) => boundLine(redactSecrets(line)),
      },
    },
    destination,
  );
}
