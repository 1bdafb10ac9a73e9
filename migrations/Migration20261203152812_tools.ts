import { Migration } from '@mikro-orm/migrations';

export class Migration20261203152812_tools extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "messages" drop constraint if exists "messages_role_check";`);

    this.addSql(`alter table "tenants" add column "max_steps" int not null default 8;`);

    this.addSql(`alter table "usage_records" add column "step" int not null default 1;`);

    this.addSql(`alter table "agents" add column "tools" jsonb not null default '[]';`);

    this.addSql(`alter table "messages" add column "tool_calls" jsonb null, add column "tool_results" jsonb null;`);
    this.addSql(
      `alter table "messages" add constraint "messages_role_check" check("role" in ('USER', 'ASSISTANT', 'TOOL'));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "messages" drop constraint if exists "messages_role_check";`);

    this.addSql(`alter table "agents" drop column "tools";`);

    this.addSql(`alter table "messages" drop column "tool_calls", drop column "tool_results";`);

    this.addSql(`alter table "messages" add constraint "messages_role_check" check("role" in ('USER', 'ASSISTANT'));`);

    this.addSql(`alter table "tenants" drop column "max_steps";`);

    this.addSql(`alter table "usage_records" drop column "step";`);
  }
}
