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
import { migrationNames, type MigrationName } from './names';

/** The class of every name in names.ts: a name without a class, or a class without a name, does not compile. */
const classes: Record<MigrationName, MigrationObject['class']> = {
  Migration20261124123244_initial,
  Migration20261124123751_vault,
  Migration20261124124621_chat,
  Migration20261124124854_audit_usage_limits,
  Migration20261203124144_credential_checks,
  Migration20261203124202_audit_keys,
  Migration20261203124450_platform_key_limit,
  Migration20261203135210_usage_provider,
  Migration20261203152541_replicas,
  Migration20261203152812_tools,
  Migration20261203190000_audit_heads_check,
};

/** Every migration, in order. A new migration file is added here and to names.ts. */
export const migrationsList: MigrationObject[] = migrationNames.map((name) => ({ name, class: classes[name] }));
