/**
 * At most `max` characters of a client-supplied string, for log lines: a client must not be able
 * to make the server write unbounded text. What was cut is counted, not kept.
 */
export function boundedText(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…[${value.length - max} more characters]`;
}
