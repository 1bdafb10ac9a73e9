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
 */
export function validateInput(argValue: unknown): void {
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
