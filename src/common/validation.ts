import { Validator, type ValidationError } from './class-validator';
import { badInput } from './errors';

const validator = new Validator();

const describe = (error: ValidationError, prefix = ''): string[] => {
  const path = prefix ? `${prefix}.${error.property}` : error.property;
  const own = Object.values(error.constraints ?? {}).map((message) => `${path}: ${message}`);
  return [...own, ...(error.children ?? []).flatMap((child) => describe(child, path))];
};

/**
 * Validates GraphQL input objects with their class-validator decorators. Unlike type-graphql's
 * default, the error never echoes the submitted values back: an input may hold an API key.
 * Synchronous: no input has an async constraint, and chat validates on the path to the first token.
 * Every argument is also refused if one of its strings holds a NUL character (below).
 */
export function validateInput(argValue: unknown): void {
  rejectNulCharacters(argValue);
  if (argValue === null || typeof argValue !== 'object') return;
  const values = Array.isArray(argValue) ? argValue : [argValue];
  for (const value of values) {
    if (value === null || typeof value !== 'object') continue;
    const errors = validator.validateSync(value as object, {
      forbidUnknownValues: false,
      validationError: { target: false, value: false },
    });
    if (errors.length > 0) {
      const messages = errors.flatMap((error) => describe(error));
      throw badInput(`Invalid input: ${messages.join('; ')}`, errors[0].property);
    }
  }
}

const NUL = '\u0000';
/** Deeper than any input type of the schema nests (a JSON scalar could go on). */
const MAX_DEPTH = 32;

/**
 * PostgreSQL's text and jsonb cannot hold U+0000: a stored string with one fails its whole
 * statement (for a chat, after the model was paid for: no usage row, no audit event). So no
 * argument may carry one, wherever it is in the input. The error names the input's field (a
 * schema name), never a key inside a JSON value, which is the client's data.
 */
function rejectNulCharacters(argValue: unknown): void {
  for (const value of Array.isArray(argValue) ? argValue : [argValue]) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      if (holdsNul(value, 0)) throw badInput(`Invalid input: ${NUL_MESSAGE}`);
      continue;
    }
    for (const field of Object.keys(value)) {
      if (holdsNul((value as Record<string, unknown>)[field], 0)) {
        throw badInput(`Invalid input: ${field}: ${NUL_MESSAGE}`, field);
      }
    }
  }
}

const NUL_MESSAGE = 'must not contain a NUL character (U+0000)';

function holdsNul(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes(NUL);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) return value.some((item) => holdsNul(item, depth + 1));
  return Object.keys(value).some(
    (key) => key.includes(NUL) || holdsNul((value as Record<string, unknown>)[key], depth + 1),
  );
}
