import { Field, ID, InputType } from 'type-graphql';

@InputType()
export class ToolResultInput {
  @Field(() => ID, { description: 'The id of a ChatToolCall of the request that is still open.' })
  toolCallId!: string;

  @Field({ description: 'What the tool returned (text; JSON as text); bounded by KEYWARD_MAX_TOOL_OUTPUT_BYTES.' })
  output!: string;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'The tool failed; `output` says how.' })
  isError?: boolean | null;
}
