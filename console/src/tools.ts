/** Tool definitions typed as JSON by the user (chat's request-level tools, an agent's tools). */

export interface ToolDefinition {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export type ParsedTools = { ok: true; tools: ToolDefinition[] } | { ok: false; error: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks the shape the server expects before anything is sent; the server still validates the
 * JSON Schema itself, names and sizes (BAD_USER_INPUT). Empty text means no tools.
 */
export function parseTools(text: string): ParsedTools {
  if (text.trim() === '') return { ok: true, tools: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `Tools must be valid JSON (${(error as Error).message})` };
  }
  if (!Array.isArray(value))
    return { ok: false, error: 'Tools must be a JSON array of {"name", "description", "inputSchema"} objects' };
  const tools: ToolDefinition[] = [];
  for (const [index, item] of value.entries()) {
    const at = `Tool ${index + 1}`;
    if (!isObject(item)) return { ok: false, error: `${at} must be an object` };
    if (typeof item.name !== 'string' || item.name.trim() === '')
      return { ok: false, error: `${at} needs a "name" (text)` };
    if (typeof item.description !== 'string')
      return { ok: false, error: `${at} (${item.name}) needs a "description" (text)` };
    if (!isObject(item.inputSchema))
      return { ok: false, error: `${at} (${item.name}) needs an "inputSchema" (a JSON Schema object)` };
    const extra = Object.keys(item).filter((key) => !['name', 'description', 'inputSchema'].includes(key));
    if (extra.length) return { ok: false, error: `${at} (${item.name}) has unknown fields: ${extra.join(', ')}` };
    tools.push({ name: item.name, description: item.description, inputSchema: item.inputSchema });
  }
  const names = tools.map((tool) => tool.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate) return { ok: false, error: `Two tools are named "${duplicate}"` };
  return { ok: true, tools };
}

/** Pretty-printed JSON for display and for editing an agent's tools. */
export const prettyJson = (value: unknown): string => JSON.stringify(value, null, 2) ?? 'null';

export const toolsText = (tools: readonly ToolDefinition[]): string => (tools.length ? prettyJson(tools) : '');

export const TOOLS_EXAMPLE =
  '[{"name": "get_weather", "description": "Current weather for a city", "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}]';
