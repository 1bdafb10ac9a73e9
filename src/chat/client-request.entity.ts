import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A `ChatInput.clientRequestId` a user has used, and the request it started: a second chat with
 * the same id within 24 hours is refused (DUPLICATE_REQUEST) instead of running and being charged
 * again. Claimed in the admission statement (`keyward_admit_chat`); rows older than 24 hours are
 * ignored there and swept.
 */
@Entity({ tableName: 'chat_client_requests' })
@Index({ properties: ['createdAt'], name: 'chat_client_requests_created_index' })
export class ChatClientRequestEntity {
  @PrimaryKey({ type: 'uuid' })
  userId!: string;

  @PrimaryKey({ type: 'text' })
  clientRequestId!: string;

  @Property({ type: 'uuid' })
  requestId!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
