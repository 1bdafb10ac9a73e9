import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124123244_initial } from './Migration20261124123244_initial';
import { Migration20261124123751_vault } from './Migration20261124123751_vault';
import { Migration20261124124621_chat } from './Migration20261124124621_chat';
import { Migration20261124124854_audit_usage_limits } from './Migration20261124124854_audit_usage_limits';
import { Migration20261203124144_credential_checks } from './Migration20261203124144_credential_checks';
import { Migration20261203124202_audit_keys } from './Migration20261203124202_audit_keys';
import { Migration20261203124450_platform_key_limit } from './Migration20261203124450_platform_key_limit';
import { Migration20261203135210_usage_provider } from './Migration20261203135210_usage_provider';
import { Migration20261203152541_replicas } from './Migration20261203152541_replicas';
import { Migration20261203152812_tools } from './Migration20261203152812_tools';
import { Migration20261203190000_audit_heads_check } from './Migration20261203190000_audit_heads_check';

/** Every migration, in order. A new migration file must be added here (a test checks it). */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261124123244_initial', class: Migration20261124123244_initial },
  { name: 'Migration20261124123751_vault', class: Migration20261124123751_vault },
  { name: 'Migration20261124124621_chat', class: Migration20261124124621_chat },
  { name: 'Migration20261124124854_audit_usage_limits', class: Migration20261124124854_audit_usage_limits },
  { name: 'Migration20261203124144_credential_checks', class: Migration20261203124144_credential_checks },
  { name: 'Migration20261203124202_audit_keys', class: Migration20261203124202_audit_keys },
  { name: 'Migration20261203124450_platform_key_limit', class: Migration20261203124450_platform_key_limit },
  { name: 'Migration20261203135210_usage_provider', class: Migration20261203135210_usage_provider },
  { name: 'Migration20261203152541_replicas', class: Migration20261203152541_replicas },
  { name: 'Migration20261203152812_tools', class: Migration20261203152812_tools },
  { name: 'Migration20261203190000_audit_heads_check', class: Migration20261203190000_audit_heads_check },
];
