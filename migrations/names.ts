/**
 * Every migration's name, in order: the names the migrations table records once applied. Kept
 * apart from the classes (migrations/index.ts) so that a start can see whether any migration is
 * pending without loading @mikro-orm/migrations. A new migration is added here and in index.ts
 * (the compiler checks that the two agree).
 */
export const migrationNames = [
  'Migration20261124123244_initial',
  'Migration20261124123751_vault',
  'Migration20261124124621_chat',
  'Migration20261124124854_audit_usage_limits',
  'Migration20261203124144_credential_checks',
  'Migration20261203124202_audit_keys',
  'Migration20261203124450_platform_key_limit',
  'Migration20261203135210_usage_provider',
  'Migration20261203152541_replicas',
  'Migration20261203152812_tools',
  'Migration20261203190000_audit_heads_check',
] as const;

export type MigrationName = (typeof migrationNames)[number];
