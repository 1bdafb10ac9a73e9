import { can, tenantWide } from '../../auth/policy';
import { isUuid } from '../../common/ids';
import type { Caller } from '../../auth/caller';
import { UsageDimension, type UsageBucket, type UsageFilter } from './usage.types';

/** Trusted SQL per dimension (never built from input) and the alias it is selected as. */
const COLUMNS: Record<UsageDimension, { sql: string; alias: keyof Row }> = {
  [UsageDimension.USER]: { sql: 'user_id', alias: 'dim_user_id' },
  [UsageDimension.MODEL]: { sql: 'model', alias: 'dim_model' },
  [UsageDimension.KEY_SOURCE]: { sql: 'key_source', alias: 'dim_key_source' },
  [UsageDimension.DAY]: { sql: `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')`, alias: 'dim_day' },
  [UsageDimension.PROVIDER]: { sql: 'provider', alias: 'dim_provider' },
};

interface Row {
  dim_user_id?: string;
  dim_model?: string;
  dim_key_source?: string;
  dim_day?: string;
  dim_provider?: string;
  requests: string | number;
  input_tokens: string | number;
  output_tokens: string | number;
  cost_usd: string | number;
}

export class UsageService {
  /** Sums of the usage rows the caller may see (members: their own; readers: the tenant's), grouped as asked. */
  async aggregate(
    caller: Caller,
    filter: UsageFilter | null | undefined,
    groupBy: UsageDimension[],
  ): Promise<UsageBucket[]> {
    const { tenantId, userId } = caller.principal;
    const knex = caller.em.getKnex();
    const dims = [...new Set(groupBy)];
    const query = knex('usage_records').where('tenant_id', tenantId);
    if (!can(caller.principal, 'usage.read', tenantWide(tenantId))) query.andWhere('user_id', userId);
    if (filter?.userId) query.andWhere('user_id', isUuid(filter.userId) ? filter.userId : null);
    if (filter?.model) query.andWhere('model', filter.model);
    if (filter?.keySource) query.andWhere('key_source', filter.keySource);
    if (filter?.provider) query.andWhere('provider', filter.provider);
    if (filter?.since) query.andWhere('created_at', '>=', filter.since);
    if (filter?.until) query.andWhere('created_at', '<', filter.until);
    for (const dim of dims) {
      const column = COLUMNS[dim];
      query.select(knex.raw(`${column.sql} as ${column.alias}`));
      query.groupByRaw(column.sql);
      query.orderByRaw(column.sql);
    }
    query.select(
      knex.raw('count(*) as requests'),
      knex.raw('coalesce(sum(input_tokens), 0) as input_tokens'),
      knex.raw('coalesce(sum(output_tokens), 0) as output_tokens'),
      knex.raw('coalesce(sum(cost_usd), 0) as cost_usd'),
    );
    const rows = (await query) as Row[];
    return rows.map((row) => ({
      userId: row.dim_user_id ?? null,
      model: row.dim_model ?? null,
      keySource: (row.dim_key_source as UsageBucket['keySource']) ?? null,
      day: row.dim_day ?? null,
      provider: (row.dim_provider as UsageBucket['provider']) ?? null,
      requests: Number(row.requests),
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      costUsd: Number(row.cost_usd),
    }));
  }
}
