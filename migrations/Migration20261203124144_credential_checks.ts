import { Migration } from '@mikro-orm/migrations';

export class Migration20261203124144_credential_checks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "credentials" add column "last_checked_at" timestamptz null, add column "last_check_result" text check ("last_check_result" in ('VALID', 'REJECTED', 'UNREACHABLE', 'NO_LIVE_CHECK')) null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "credentials" drop column "last_checked_at", drop column "last_check_result";`);
  }
}
