import { useEffect, useState } from 'preact/hooks';
import { request } from '../api';
import { Problem } from '../components/problem';
import { explainError, type Explained } from '../errors';
import { dateTime } from '../format';
import { graphql, type ResultOf, type VariablesOf } from '../graphql';

const AUDIT_EVENTS = graphql(`
  query AuditEvents($filter: AuditFilter, $after: String) {
    auditEvents(filter: $filter, first: 50, after: $after) {
      edges {
        cursor
        node {
          id
          seq
          at
          action
          outcome
          actorId
          targetType
          targetId
          detail
        }
      }
      pageInfo {
        endCursor
        hasNextPage
      }
    }
  }
`);
const VERIFY = graphql(`
  query VerifyAuditLog {
    verifyAuditLog {
      ok
      checked
      firstBrokenSeq
    }
  }
`);

type AuditNode = ResultOf<typeof AUDIT_EVENTS>['auditEvents']['edges'][number]['node'];
type AuditFilter = NonNullable<VariablesOf<typeof AUDIT_EVENTS>['filter']>;

const isoOrUndefined = (local: string) => (local ? new Date(`${local}:00Z`).toISOString() : undefined);

export function AuditLog() {
  const [action, setAction] = useState('');
  const [actorId, setActorId] = useState('');
  const [targetId, setTargetId] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [filter, setFilter] = useState<AuditFilter>({});
  const [events, setEvents] = useState<AuditNode[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<Explained | null>(null);
  const [verification, setVerification] = useState<string | null>(null);
  const [verifyProblem, setVerifyProblem] = useState<Explained | null>(null);

  const load = async (activeFilter: AuditFilter, after: string | null) => {
    setProblem(null);
    try {
      const data = await request(AUDIT_EVENTS, { filter: activeFilter, after });
      const nodes = data.auditEvents.edges.map((edge) => edge.node);
      setEvents((current) => (after && current ? [...current, ...nodes] : nodes));
      setNext(data.auditEvents.pageInfo.hasNextPage ? data.auditEvents.pageInfo.endCursor : null);
    } catch (error) {
      setProblem(explainError(error));
    }
  };
  useEffect(() => void load({}, null), []);

  const applyFilters = (event: Event) => {
    event.preventDefault();
    const next: AuditFilter = {
      ...(action.trim() ? { action: action.trim() } : {}),
      ...(actorId.trim() ? { actorId: actorId.trim() } : {}),
      ...(targetId.trim() ? { targetId: targetId.trim() } : {}),
      ...(since ? { since: isoOrUndefined(since) } : {}),
      ...(until ? { until: isoOrUndefined(until) } : {}),
    };
    setFilter(next);
    setEvents(null);
    void load(next, null);
  };

  const verify = async () => {
    setVerification(null);
    setVerifyProblem(null);
    try {
      const { verifyAuditLog: result } = await request(VERIFY);
      setVerification(
        result.ok
          ? `Verified: the chain is intact (${result.checked} events checked).`
          : `Broken: the chain does not verify from event ${result.firstBrokenSeq} on (${result.checked} events checked). Tell your operator.`,
      );
    } catch (error) {
      setVerifyProblem(explainError(error));
    }
  };

  return (
    <div>
      <h2>Audit log</h2>
      <div class="verify">
        <button type="button" onClick={() => void verify()}>
          Verify
        </button>
        <span role="status" class="status">
          {verification}
        </span>
        <Problem problem={verifyProblem} />
      </div>
      <form class="filters" onSubmit={applyFilters}>
        <fieldset>
          <legend>Filters</legend>
          <div class="filter-grid">
            <label>
              Action
              <input
                value={action}
                placeholder="e.g. credential.set"
                onInput={(event) => setAction(event.currentTarget.value)}
              />
            </label>
            <label>
              Actor id
              <input value={actorId} onInput={(event) => setActorId(event.currentTarget.value)} />
            </label>
            <label>
              Target id
              <input value={targetId} onInput={(event) => setTargetId(event.currentTarget.value)} />
            </label>
            <label>
              Since (UTC)
              <input type="datetime-local" value={since} onInput={(event) => setSince(event.currentTarget.value)} />
            </label>
            <label>
              Until (UTC)
              <input type="datetime-local" value={until} onInput={(event) => setUntil(event.currentTarget.value)} />
            </label>
          </div>
          <button type="submit">Apply filters</button>
        </fieldset>
      </form>
      <Problem problem={problem} />
      <div class="table-wrap">
        <table class="audit">
          <caption>Audit events, newest first</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                Seq
              </th>
              <th scope="col">Time</th>
              <th scope="col">Action</th>
              <th scope="col">Outcome</th>
              <th scope="col">Actor</th>
              <th scope="col">Target</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {(events ?? []).map((event) => (
              <tr>
                <td class="num">{event.seq}</td>
                <td>{dateTime(event.at)}</td>
                <td>{event.action}</td>
                <td class={`outcome ${event.outcome.toLowerCase()}`}>{event.outcome}</td>
                <td class="id">{event.actorId ?? '–'}</td>
                <td class="id">{event.targetId ? `${event.targetType ?? ''} ${event.targetId}` : '–'}</td>
                <td class="detail">{event.detail ?? ''}</td>
              </tr>
            ))}
            {events?.length === 0 && (
              <tr>
                <td colSpan={7}>No events match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {events === null && !problem && <p aria-busy="true">Loading events…</p>}
      {next && (
        <button type="button" onClick={() => void load(filter, next)}>
          Load more
        </button>
      )}
    </div>
  );
}
