import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { BarChart } from '../components/bar-chart';
import { Problem } from '../components/problem';
import { explainError, type Explained } from '../errors';
import { integer, KEY_SOURCE_WORDS, usd } from '../format';
import { graphql, type ResultOf } from '../graphql';
import { canSeeTenantAudit, useSession } from '../session-context';

const USAGE = graphql(`
  query Usage($filter: UsageFilter) {
    usage(filter: $filter, groupBy: [DAY, MODEL, KEY_SOURCE]) {
      day
      model
      keySource
      requests
      inputTokens
      outputTokens
      costUsd
    }
  }
`);

type Bucket = ResultOf<typeof USAGE>['usage'][number];
const DAYS = 30;

function lastDays(count: number): string[] {
  const days: string[] = [];
  const today = new Date();
  for (let offset = count - 1; offset >= 0; offset--) {
    const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - offset));
    days.push(day.toISOString().slice(0, 10));
  }
  return days;
}

export function UsagePage() {
  const { me } = useSession();
  const tenantAllowed = canSeeTenantAudit(me);
  const [scope, setScope] = useState<'mine' | 'tenant'>('mine');
  const [buckets, setBuckets] = useState<Bucket[] | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);

  useEffect(() => {
    setBuckets(null);
    const days = lastDays(DAYS);
    const filter = { since: `${days[0]}T00:00:00Z`, ...(scope === 'mine' ? { userId: me.id } : {}) };
    request(USAGE, { filter }).then(
      (data) => setBuckets(data.usage),
      (error) => setProblem(explainError(error)),
    );
  }, [scope]);

  const days = lastDays(DAYS);
  const costByDay = new Map<string, { cost: number; requests: number }>();
  for (const bucket of buckets ?? []) {
    const entry = costByDay.get(bucket.day ?? '') ?? { cost: 0, requests: 0 };
    entry.cost += bucket.costUsd;
    entry.requests += bucket.requests;
    costByDay.set(bucket.day ?? '', entry);
  }
  const rows = [...(buckets ?? [])].sort(
    (a, b) => (b.day ?? '').localeCompare(a.day ?? '') || (a.model ?? '').localeCompare(b.model ?? ''),
  );
  const total = rows.reduce(
    (sum, row) => ({
      requests: sum.requests + row.requests,
      input: sum.input + row.inputTokens,
      output: sum.output + row.outputTokens,
      cost: sum.cost + row.costUsd,
    }),
    { requests: 0, input: 0, output: 0, cost: 0 },
  );

  return (
    <section class="page">
      <h1>Usage</h1>
      {tenantAllowed && (
        <fieldset class="inline">
          <legend>Whose usage</legend>
          <label class="checkbox">
            <input type="radio" name="usage-scope" checked={scope === 'mine'} onChange={() => setScope('mine')} /> Mine
          </label>
          <label class="checkbox">
            <input type="radio" name="usage-scope" checked={scope === 'tenant'} onChange={() => setScope('tenant')} />{' '}
            Whole tenant ({me.tenant.name})
          </label>
        </fieldset>
      )}
      <Problem problem={problem} />
      {buckets === null ? (
        <p aria-busy="true">Loading usage…</p>
      ) : (
        <>
          <p>
            Last {DAYS} days (UTC): {integer(total.requests)} {total.requests === 1 ? 'request' : 'requests'},{' '}
            {integer(total.input)} input and {integer(total.output)} output tokens, {usd(total.cost)}.
          </p>
          <BarChart
            title={`Cost per day, last ${DAYS} days`}
            unit={usd}
            bars={days.map((day) => {
              const entry = costByDay.get(day) ?? { cost: 0, requests: 0 };
              return {
                label: day.slice(5),
                value: entry.cost,
                detail: `${day}: ${usd(entry.cost)}, ${entry.requests} requests`,
              };
            })}
          />
          <div class="table-wrap">
            <table>
              <caption>Usage by day, model and key source</caption>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  <th scope="col">Model</th>
                  <th scope="col">Key source</th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                  <th scope="col" class="num">
                    Input tokens
                  </th>
                  <th scope="col" class="num">
                    Output tokens
                  </th>
                  <th scope="col" class="num">
                    Cost
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr>
                    <td>{row.day}</td>
                    <td>{row.model}</td>
                    <td>{KEY_SOURCE_WORDS[row.keySource ?? ''] ?? row.keySource}</td>
                    <td class="num">{integer(row.requests)}</td>
                    <td class="num">{integer(row.inputTokens)}</td>
                    <td class="num">{integer(row.outputTokens)}</td>
                    <td class="num">{usd(row.costUsd)}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={7}>No usage in this period.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
