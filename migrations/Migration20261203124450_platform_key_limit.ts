import { Migration } from '@mikro-orm/migrations';

export class Migration20261203124450_platform_key_limit extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "platform_spend_reservations" ("id" uuid not null, "tenant_id" uuid not null, "amount_usd" double precision not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, constraint "platform_spend_reservations_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "platform_spend_reservations_tenant_expires_index" on "platform_spend_reservations" ("tenant_id", "expires_at");`,
    );

    this.addSql(
      `alter table "platform_spend_reservations" add constraint "platform_spend_reservations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "tenants" add column "platform_key_enabled" boolean not null default true, add column "platform_key_monthly_cap_usd" double precision null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "platform_spend_reservations" cascade;`);

    this.addSql(
      `alter table "tenants" drop column "platform_key_enabled", drop column "platform_key_monthly_cap_usd";`,
    );
  }
}
