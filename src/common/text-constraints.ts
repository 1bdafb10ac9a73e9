import { Matches, MaxLength, MinLength } from './class-validator';

const NO_CONTROL_CHARACTERS = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u;

/** A short human-facing name: trimmed length 1..max, no control or format characters. */
export function DisplayName(max: number): PropertyDecorator {
  return (target: object, property: string | symbol) => {
    MinLength(1, { message: 'must not be empty' })(target, property as string);
    MaxLength(max, { message: `must be at most ${max} characters` })(target, property as string);
    Matches(NO_CONTROL_CHARACTERS, { message: 'must not contain control characters' })(target, property as string);
    Matches(/\S/, { message: 'must not be blank' })(target, property as string);
  };
}
