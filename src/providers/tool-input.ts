/**
 * A tool call's streamed input, parsed: empty means no arguments (`{}`); text that is not JSON
 * (a model's mistake) is kept as the string, for the client to see and answer with an error.
 */
export function parseToolInput(json: string): unknown {
  if (!json.trim()) return {};
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}
