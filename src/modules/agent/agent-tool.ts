import { JSONResolver } from 'graphql-scalars';
import { Field, InputType, ObjectType } from 'type-graphql';

/** A tool a model may call: its name, what it does, and the JSON Schema of its input. */
export interface ToolDefinition {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

@ObjectType({ description: 'A tool the model may call; the client runs it and answers with submitToolResults.' })
export class AgentTool implements ToolDefinition {
  @Field({ description: 'Unique within the request; 1-64 of A-Z a-z 0-9 _ -.' })
  name!: string;

  @Field()
  description!: string;

  @Field(() => JSONResolver, { description: 'JSON Schema of the input (an object schema).' })
  inputSchema!: Record<string, unknown>;

  static from(tool: ToolDefinition): AgentTool {
    return Object.assign(new AgentTool(), {
      name: tool.name,
      description: tool.description,
      inputSchema: tool.inputSchema,
    });
  }
}

@InputType({ description: 'Checked when saved or sent: a valid JSON Schema, a unique name, bounded sizes.' })
export class ToolDefinitionInput implements ToolDefinition {
  @Field()
  name!: string;

  @Field()
  description!: string;

  @Field(() => JSONResolver)
  inputSchema!: Record<string, unknown>;
}
