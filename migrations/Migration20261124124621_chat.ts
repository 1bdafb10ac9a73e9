import { Migration } from '@mikro-orm/migrations';

export class Migration20261124124621_chat extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "usage_records" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "credential_id" uuid null, "key_source" text check ("key_source" in ('AUTO', 'PERSONAL', 'TENANT', 'PLATFORM')) not null, "model" text not null, "request_id" text not null, "input_tokens" int not null, "output_tokens" int not null, "cost_usd" double precision not null, "ttft_ms" int null, "total_ms" int not null, "status" text not null, "error_code" text null, "created_at" timestamptz not null, constraint "usage_records_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "usage_records_tenant_created_index" on "usage_records" ("tenant_id", "created_at");`);

    this.addSql(
      `create table "agents" ("id" uuid not null, "tenant_id" uuid not null, "owner_id" uuid not null, "name" text not null, "system_prompt" text not null, "model" text null, "created_at" timestamptz not null, constraint "agents_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "agents_tenant_id_index" on "agents" ("tenant_id");`);

    this.addSql(
      `create table "conversations" ("id" uuid not null, "tenant_id" uuid not null, "owner_id" uuid not null, "agent_id" uuid null, "title" text null, "created_at" timestamptz not null, constraint "conversations_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "conversations_owner_id_index" on "conversations" ("owner_id");`);

    this.addSql(
      `create table "messages" ("id" uuid not null, "conversation_id" uuid not null, "role" text check ("role" in ('USER', 'ASSISTANT')) not null, "content" text not null, "model" text null, "key_source" text check ("key_source" in ('AUTO', 'PERSONAL', 'TENANT', 'PLATFORM')) null, "status" text not null default 'complete', "created_at" timestamptz(6) not null, constraint "messages_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "messages_conversation_created_index" on "messages" ("conversation_id", "created_at");`);

    this.addSql(
      `alter table "usage_records" add constraint "usage_records_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "usage_records" add constraint "usage_records_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "usage_records" add constraint "usage_records_credential_id_foreign" foreign key ("credential_id") references "credentials" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "agents" add constraint "agents_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "agents" add constraint "agents_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "conversations" add constraint "conversations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_agent_id_foreign" foreign key ("agent_id") references "agents" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "messages" add constraint "messages_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "conversations" drop constraint "conversations_agent_id_foreign";`);

    this.addSql(`alter table "messages" drop constraint "messages_conversation_id_foreign";`);

    this.addSql(`drop table if exists "usage_records" cascade;`);

    this.addSql(`drop table if exists "agents" cascade;`);

    this.addSql(`drop table if exists "conversations" cascade;`);

    this.addSql(`drop table if exists "messages" cascade;`);
  }
}
