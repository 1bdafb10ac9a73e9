import { IsOptional, MaxLength, MinLength } from '../../common/class-validator';
import { Field, InputType } from 'type-graphql';
import { DisplayName } from '../../common/text-constraints';
import { ToolDefinitionInput } from './agent-tool';

export const MAX_AGENT_NAME_LENGTH = 100;
export const MAX_SYSTEM_PROMPT_LENGTH = 50_000;

@InputType()
export class CreateAgentInput {
  @Field()
  @DisplayName(MAX_AGENT_NAME_LENGTH)
  name!: string;

  @Field()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(MAX_SYSTEM_PROMPT_LENGTH, { message: `must be at most ${MAX_SYSTEM_PROMPT_LENGTH} characters` })
  systemPrompt!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  model?: string | null;

  @Field(() => [ToolDefinitionInput], { nullable: true, description: 'Default: none.' })
  tools?: ToolDefinitionInput[] | null;
}

@InputType({ description: 'Omitted fields keep their value.' })
export class UpdateAgentInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @DisplayName(MAX_AGENT_NAME_LENGTH)
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MinLength(1, { message: 'must not be empty' })
  @MaxLength(MAX_SYSTEM_PROMPT_LENGTH, { message: `must be at most ${MAX_SYSTEM_PROMPT_LENGTH} characters` })
  systemPrompt?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "null: the caller's preferred model, else the tenant's default.",
  })
  @IsOptional()
  model?: string | null;

  @Field(() => [ToolDefinitionInput], { nullable: true, description: 'Replaces the whole list; [] removes all.' })
  tools?: ToolDefinitionInput[] | null;
}
