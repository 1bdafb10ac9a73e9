import { Migration } from '@mikro-orm/migrations';

export class Migration20261124124854_audit_usage_limits extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "audit_chain_heads" ("chain" text not null, "seq" int not null, "hash" text not null, constraint "audit_chain_heads_pkey" primary key ("chain"));`,
    );

    this.addSql(
      `create table "audit_events" ("id" uuid not null, "chain" text not null, "seq" int not null, "at" timestamptz(3) not null, "tenant_id" uuid null, "actor_id" uuid null, "action" text not null, "target_type" text null, "target_id" text null, "outcome" text check ("outcome" in ('SUCCESS', 'DENIED', 'FAILURE')) not null, "request_id" text null, "ip" text null, "detail" text null, "prev_hash" text not null, "hash" text not null, constraint "audit_events_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "audit_events_tenant_at_index" on "audit_events" ("tenant_id", "at");`);
    this.addSql(`alter table "audit_events" add constraint "audit_events_chain_seq_unique" unique ("chain", "seq");`);

    this.addSql(
      `create table "rate_limits" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, constraint "rate_limits_pkey" primary key ("key"));`,
    );

    this.addSql(
      `create table "budget_reservations" ("id" uuid not null, "tenant_id" uuid not null, "amount_usd" double precision not null, "expires_at" timestamptz not null, "created_at" timestamptz not null, constraint "budget_reservations_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "budget_reservations_tenant_expires_index" on "budget_reservations" ("tenant_id", "expires_at");`,
    );

    this.addSql(
      `alter table "budget_reservations" add constraint "budget_reservations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_chain_heads" cascade;`);

    this.addSql(`drop table if exists "audit_events" cascade;`);

    this.addSql(`drop table if exists "rate_limits" cascade;`);

    this.addSql(`drop table if exists "budget_reservations" cascade;`);
  }
}
