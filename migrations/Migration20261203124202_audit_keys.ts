import { Migration } from '@mikro-orm/migrations';

export class Migration20261203124202_audit_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "audit_keys" ("chain" text not null, "keyring" text not null, "master_key_id" text not null, "wrapped_key" bytea not null, "keyed_from_seq" int not null, "keyed_from_mac" text not null, "created_at" timestamptz not null, "rewrapped_at" timestamptz null, constraint "audit_keys_pkey" primary key ("chain"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_keys" cascade;`);
  }
}
