import { Migration } from '@mikro-orm/migrations';

export class Migration20261203190000_audit_heads_check extends Migration {
  override async up(): Promise<void> {
    // An audit append that computed its events on the heads it believed current advances each
    // head only from that state (src/audit/audit-log.ts); the statement selects this check, which
    // fails it (and so all it wrote) when a head had moved, with its own SQLSTATE.
    this.addSql(`create function keyward_audit_heads_advanced(p_expected integer, p_advanced integer) returns integer
language plpgsql volatile as $fn$
begin
  if p_advanced <> p_expected then
    raise exception 'audit chain head moved: % of % heads advanced', p_advanced, p_expected using errcode = 'KW001';
  end if;
  return p_advanced;
end
$fn$;`);
  }

  override async down(): Promise<void> {
    this.addSql('drop function keyward_audit_heads_advanced(integer, integer);');
  }
}
