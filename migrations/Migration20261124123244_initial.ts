import { Migration } from '@mikro-orm/migrations';

export class Migration20261124123244_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "tenants" ("id" uuid not null, "name" text not null, "name_key" text not null, "created_at" timestamptz not null, "is_platform" boolean not null default false, "data_key_version" int not null default 1, "allow_platform_key" boolean not null default true, "allowed_models" text[] null, "default_model" text not null default 'claude-haiku-4-5', "monthly_budget_usd" double precision null, "requests_per_minute" int null, constraint "tenants_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "tenants" add constraint "tenants_name_key_unique" unique ("name_key");`);

    this.addSql(
      `create table "users" ("id" uuid not null, "tenant_id" uuid not null, "email" text not null, "name" text null, "role" text check ("role" in ('PLATFORM_ADMIN', 'TENANT_ADMIN', 'MEMBER', 'AUDITOR')) not null, "preferred_model" text null, "created_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_tenant_email_unique" unique ("tenant_id", "email");`);

    this.addSql(
      `create table "api_tokens" ("id" uuid not null, "user_id" uuid not null, "name" text not null, "token_hash" text not null, "created_at" timestamptz not null, "expires_at" timestamptz null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_tokens_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "api_tokens_user_id_index" on "api_tokens" ("user_id");`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`);

    this.addSql(
      `alter table "users" add constraint "users_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "api_tokens" add constraint "api_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop constraint "users_tenant_id_foreign";`);

    this.addSql(`alter table "api_tokens" drop constraint "api_tokens_user_id_foreign";`);

    this.addSql(`drop table if exists "tenants" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "api_tokens" cascade;`);
  }
}
