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

  @Field({
    description:
      "Hex HMAC-SHA-256 under the chain's audit key over the previous event's hash and this event's content " +
      '(plain SHA-256 for events written before the chain was keyed; see AuditVerification.keyedFromSeq).',
  })
  hash!: string;

  static from(entity: AuditEventEntity): AuditEvent {
    const { id, seq, at, tenantId, actorId, action, targetType, targetId, outcome, requestId, ip, detail, hash } =
      entity;
    return Object.assign(new AuditEvent(), {
      id,
      seq,
      at,
      tenantId,
      actorId,
      action,
      targetType,
      targetId,
      outcome,
      requestId,
      ip,
      detail,
      hash,
    });
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

  @Field(() => Int, {
    nullable: true,
    description: "First seq MACed under the chain's audit key; null when the chain has no audit key.",
  })
  keyedFromSeq!: number | null;

  @Field(() => Int, {
    description:
      'Events before keyedFromSeq: checked only as a plain SHA-256 chain, which anyone with write access to the database could recompute.',
  })
  unkeyedEvents!: number;

  @Field(() => String, { nullable: true, description: 'Why the chain is not ok, in words.' })
  problem!: string | null;
}

@ObjectType({
  description:
    "A chain's newest event, to keep outside the database and pass back to verifyAuditLog(expectHead:), which then also " +
    'catches events removed from the end of the chain. Its hash is an HMAC under the audit key, so it cannot be forged.',
})
export class AuditHead {
  @Field({ description: 'The tenant id, or "global".' })
  chain!: string;

  @Field(() => Int, { description: '0 for a chain without events.' })
  seq!: number;

  @Field()
  hash!: string;

  @Field(() => Int, { nullable: true })
  keyedFromSeq!: number | null;
}

@InputType()
export class ExpectedAuditHead {
  @Field(() => Int)
  seq!: number;

  @Field()
  hash!: string;
}
