import { Migration } from '@mikro-orm/migrations';

export class Migration20261124123751_vault extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "tenant_data_keys" ("id" uuid not null, "tenant_id" uuid not null, "version" int not null, "keyring" text not null, "master_key_id" text not null, "wrapped_key" bytea not null, "created_at" timestamptz not null, "rewrapped_at" timestamptz null, "retired_at" timestamptz null, constraint "tenant_data_keys_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "tenant_data_keys" add constraint "tenant_data_keys_tenant_version_unique" unique ("tenant_id", "version");`,
    );

    this.addSql(
      `create table "credentials" ("id" uuid not null, "tenant_id" uuid not null, "provider" text check ("provider" in ('ANTHROPIC', 'OPENAI', 'OPENROUTER', 'GITHUB', 'LINEAR')) not null, "scope" text check ("scope" in ('PERSONAL', 'TENANT')) not null, "owner_id" uuid null, "label" text null, "ciphertext" bytea not null, "last4" text not null, "data_key_version" int not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "last_used_at" timestamptz null, constraint "credentials_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "credentials_tenant_id_index" on "credentials" ("tenant_id");`);
    this.addSql(
      `create unique index "credentials_personal_key_unique" on "credentials" ("tenant_id", "owner_id", "provider") where "scope" = 'PERSONAL';`,
    );
    this.addSql(
      `create unique index "credentials_tenant_key_unique" on "credentials" ("tenant_id", "provider") where "scope" = 'TENANT';`,
    );

    this.addSql(
      `alter table "tenant_data_keys" add constraint "tenant_data_keys_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "credentials" add constraint "credentials_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "credentials" add constraint "credentials_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "tenant_data_keys" cascade;`);

    this.addSql(`drop table if exists "credentials" cascade;`);
  }
}
