import { Migration } from '@mikro-orm/migrations';

export class Migration20261203135210_usage_provider extends Migration {
  override async up(): Promise<void> {
    // Every usage row written before this column was an Anthropic chat (no other provider could chat).
    this.addSql(
      `alter table "usage_records" add column "provider" text check ("provider" in ('ANTHROPIC', 'OPENAI', 'OPENROUTER', 'GITHUB', 'LINEAR')) not null default 'ANTHROPIC';`,
    );
    this.addSql(`alter table "usage_records" alter column "provider" drop default;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "usage_records" drop column "provider";`);
  }
}
