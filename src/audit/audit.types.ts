import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AuditOutcome, type AuditEventEntity } from './audit-event.entity';

registerEnumType(AuditOutcome, { name: 'AuditOutcome' });

@ObjectType()
export class AuditEvent {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: "Position in its tenant's chain, from 1, without gaps." })
  seq!: number;

  @Field()
  at!: Date;

  @Field(() => ID, { nullable: true })
  tenantId!: string | null;

  @Field(() => ID, { nullable: true })
  actorId!: string | null;

  @Field({ description: 'Dotted name, e.g. credential.set, credential.use, datakey.rotate.' })
  action!: string;

  @Field(() => String, { nullable: true })
  targetType!: string | null;

  @Field(() => ID, { nullable: true })
  targetId!: string | null;

  @Field(() => AuditOutcome)
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true })
  requestId!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => String, { nullable: true, description: 'JSON text with non-secret details.' })
  detail!: string | null;

  @Field({ description: "Hex SHA-256 over the previous event's hash and this event's content." })
  hash!: string;

  static from(entity: AuditEventEntity): AuditEvent {
    const { id, seq, at, tenantId, actorId, action, targetType, targetId, outcome, requestId, ip, detail, hash } = entity;
    return Object.assign(new AuditEvent(), { id, seq, at, tenantId, actorId, action, targetType, targetId, outcome, requestId, ip, detail, hash });
  }
}

@ObjectType()
export class AuditEventEdge {
  @Field()
  cursor!: string;

  @Field(() => AuditEvent)
  node!: AuditEvent;
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge])
  edges!: AuditEventEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@InputType()
export class AuditFilter {
  @Field(() => String, { nullable: true })
  action?: string | null;

  @Field(() => ID, { nullable: true })
  actorId?: string | null;

  @Field(() => ID, { nullable: true })
  targetId?: string | null;

  @Field(() => Date, { nullable: true })
  since?: Date | null;

  @Field(() => Date, { nullable: true })
  until?: Date | null;

  @Field(() => ID, { nullable: true, description: 'PLATFORM_ADMIN only.' })
  tenantId?: string | null;
}

@ObjectType()
export class AuditVerification {
  @Field()
  ok!: boolean;

  @Field(() => Int)
  checked!: number;

  @Field(() => Int, { nullable: true, description: 'seq of the first event whose hash does not match, if any.' })
  firstBrokenSeq!: number | null;
}
