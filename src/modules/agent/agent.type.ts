import { Field, ID, ObjectType } from 'type-graphql';
import type { AgentEntity } from './agent.entity';
import { AgentTool } from './agent-tool';

@ObjectType()
export class Agent {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  systemPrompt!: string;

  @Field(() => String, { nullable: true })
  model!: string | null;

  @Field()
  createdAt!: Date;

  @Field(() => [AgentTool])
  tools!: AgentTool[];

  static from(entity: AgentEntity): Agent {
    return Object.assign(new Agent(), {
      id: entity.id,
      name: entity.name,
      systemPrompt: entity.systemPrompt,
      model: entity.model,
      createdAt: entity.createdAt,
      tools: entity.tools.map(AgentTool.from),
    });
  }
}
