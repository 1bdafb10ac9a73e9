// node-postgres's conversion of a parameter to its text form, which @types/pg does not declare.
declare module 'pg/lib/utils' {
  export function prepareValue(value: unknown): string | Buffer | null;
}
