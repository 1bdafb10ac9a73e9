import { Migration } from '@mikro-orm/migrations';

export class Migration20261203152541_replicas extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "chat_client_requests" ("user_id" uuid not null, "client_request_id" text not null, "request_id" uuid not null, "created_at" timestamptz not null, constraint "chat_client_requests_pkey" primary key ("user_id", "client_request_id"));`,
    );
    this.addSql(`create index "chat_client_requests_created_index" on "chat_client_requests" ("created_at");`);

    this.addSql(
      `create table "stream_leases" ("id" uuid not null, "replica_id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "expires_at" timestamptz not null, constraint "stream_leases_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "stream_leases_replica_index" on "stream_leases" ("replica_id");`);
    this.addSql(`create index "stream_leases_tenant_expires_index" on "stream_leases" ("tenant_id", "expires_at");`);
    this.addSql(`create index "stream_leases_user_expires_index" on "stream_leases" ("user_id", "expires_at");`);

    this.addSql(`alter table "platform_spend_reservations" add column "replica_id" uuid null;`);
    this.addSql(`alter table "budget_reservations" add column "replica_id" uuid null;`);

    // One call admits a chat: it claims the client's request id (or names the request that holds
    // it), then counts the live leases of the user and of the tenant and takes one if both are
    // under their caps. A plpgsql function, because each statement in it reads a fresh snapshot:
    // the counts see every admission committed before the tenant's advisory lock was granted, so
    // concurrent admissions on different replicas cannot both take the last place.
    this.addSql(`create function keyward_admit_chat(
  p_lease_id uuid, p_replica_id uuid, p_tenant_id uuid, p_user_id uuid,
  p_per_user integer, p_per_tenant integer, p_lease_seconds integer,
  p_client_request_id text, p_request_id uuid
) returns table (outcome text, original_request_id uuid)
language plpgsql volatile as $fn$
declare
  v_original uuid;
begin
  perform pg_advisory_xact_lock(hashtextextended('keyward_stream_leases:' || p_tenant_id::text, 0));
  if p_client_request_id is not null then
    insert into chat_client_requests as claimed (user_id, client_request_id, request_id, created_at)
      values (p_user_id, p_client_request_id, p_request_id, now())
      on conflict (user_id, client_request_id) do update
        set request_id = excluded.request_id, created_at = excluded.created_at
        where claimed.created_at < now() - interval '24 hours'
      returning claimed.request_id into v_original;
    if not found then
      select c.request_id into v_original from chat_client_requests c
        where c.user_id = p_user_id and c.client_request_id = p_client_request_id;
      return query select 'duplicate'::text, v_original;
      return;
    end if;
  end if;
  if (select count(*) from stream_leases l where l.user_id = p_user_id and l.expires_at > now()) >= p_per_user then
    delete from chat_client_requests c where c.user_id = p_user_id and c.client_request_id = p_client_request_id;
    return query select 'user_cap'::text, null::uuid;
    return;
  end if;
  if (select count(*) from stream_leases l where l.tenant_id = p_tenant_id and l.expires_at > now()) >= p_per_tenant then
    delete from chat_client_requests c where c.user_id = p_user_id and c.client_request_id = p_client_request_id;
    return query select 'tenant_cap'::text, null::uuid;
    return;
  end if;
  insert into stream_leases (id, replica_id, tenant_id, user_id, expires_at)
    values (p_lease_id, p_replica_id, p_tenant_id, p_user_id, now() + make_interval(secs => p_lease_seconds));
  return query select 'admitted'::text, null::uuid;
end
$fn$;`);
  }

  override async down(): Promise<void> {
    this.addSql(
      `drop function if exists keyward_admit_chat(uuid, uuid, uuid, uuid, integer, integer, integer, text, uuid);`,
    );
    this.addSql(`drop table if exists "chat_client_requests" cascade;`);
    this.addSql(`drop table if exists "stream_leases" cascade;`);
    this.addSql(`alter table "budget_reservations" drop column "replica_id";`);
    this.addSql(`alter table "platform_spend_reservations" drop column "replica_id";`);
  }
}
