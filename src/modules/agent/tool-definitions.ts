import Ajv from 'ajv';
import { badInput } from '../../common/errors';
import type { ToolLimits } from '../../config';
import type { ToolDefinition } from './agent-tool';

/** The name pattern both Anthropic and OpenAI accept for a tool (function) name. */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

// Compiling a schema is how we know it is one: Ajv checks it against its meta-schema (draft-07
// by default) and resolves its references. `strict: false` accepts keywords Ajv does not know
// (providers' own annotations), which are legal JSON Schema.
// `addUsedSchema: false`: a schema's `$id` is not registered, so two tools may use the same one.
const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false, addUsedSchema: false });

const utf8Bytes = (value: string): number => Buffer.byteLength(value, 'utf8');

/**
 * Checks a list of tool definitions (an agent's, or a request's together with its agent's) and
 * returns plain copies: at most `maxTools`, unique provider-valid names, each definition within
 * `maxDefinitionBytes`, each input schema a valid JSON Schema of an object. BAD_USER_INPUT otherwise,
 * naming `field` and the tool.
 */
export function checkToolDefinitions(
  tools: readonly ToolDefinition[],
  limits: Pick<ToolLimits, 'maxTools' | 'maxDefinitionBytes'>,
  field = 'tools',
): ToolDefinition[] {
  if (tools.length > limits.maxTools) throw badInput(`${field} must have at most ${limits.maxTools} tools`, field);
  const seen = new Set<string>();
  return tools.map((tool, index) => {
    const where = `${field}[${index}]`;
    if (typeof tool.name !== 'string' || !TOOL_NAME_PATTERN.test(tool.name)) {
      throw badInput(`${where}.name must be 1-64 letters, digits, _ or -`, field);
    }
    if (seen.has(tool.name)) throw badInput(`${where}.name: the tool name ${tool.name} is used twice`, field);
    seen.add(tool.name);
    if (typeof tool.description !== 'string' || !tool.description.trim()) {
      throw badInput(`${where}.description must not be blank`, field);
    }
    const schema = tool.inputSchema;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
      throw badInput(`${where}.inputSchema must be a JSON Schema object`, field);
    }
    if (schema.type !== 'object')
      throw badInput(`${where}.inputSchema must describe an object ("type": "object")`, field);
    const copy: ToolDefinition = { name: tool.name, description: tool.description, inputSchema: schema };
    if (utf8Bytes(JSON.stringify(copy)) > limits.maxDefinitionBytes) {
      throw badInput(`${where} must be at most ${limits.maxDefinitionBytes} bytes as JSON`, field);
    }
    try {
      ajv.compile(schema);
      ajv.removeSchema(schema); // compiled only to check it: not kept in Ajv's cache
    } catch (error) {
      const reason = error instanceof Error ? error.message.slice(0, 200) : 'invalid';
      throw badInput(`${where}.inputSchema is not a valid JSON Schema: ${reason}`, field);
    }
    return copy;
  });
}
