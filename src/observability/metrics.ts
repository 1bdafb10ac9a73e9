import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OperationLabels } from './operation-labels';

/**
 * The gateway's Prometheus metrics, in a registry of its own (not prom-client's global one),
 * so several gateways in one process (tests, benchmarks) never share counters.
 */
export class Metrics {
  readonly registry = new Registry();
  /** The bounded set of `operation` label values (see OperationLabels). */
  readonly operationLabels = new OperationLabels();

  readonly requests = new Counter({
    name: 'keyward_graphql_requests_total',
    help: 'GraphQL operations by operation name, transport and outcome',
    labelNames: ['operation', 'transport', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'keyward_graphql_errors_total',
    help: 'GraphQL errors returned, by operation and extensions.code',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });

  readonly timeToFirstToken = new Histogram({
    name: 'keyward_chat_time_to_first_token_seconds',
    help: 'Time from the upstream request to the first text delta',
    labelNames: ['model', 'key_source'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16],
    registers: [this.registry],
  });

  readonly streamDuration = new Histogram({
    name: 'keyward_chat_stream_duration_seconds',
    help: 'Chat stream duration by final status',
    labelNames: ['model', 'status'] as const,
    buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'keyward_upstream_errors_total',
    help: 'Failed upstream chat requests by provider and code',
    labelNames: ['provider', 'code'] as const,
    registers: [this.registry],
  });

  readonly keyringCalls = new Counter({
    name: 'keyward_keyring_calls_total',
    help: 'Calls to the keyring (AWS KMS or local) by keyring, operation and outcome',
    labelNames: ['keyring', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'keyward_' });
  }

  /** A metric read at scrape time from the component that owns the number. */
  observe(name: string, help: string, read: () => number, type: 'gauge' | 'counter' = 'gauge'): void {
    if (type === 'gauge') {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
      return;
    }
    new Counter({
      name: `${name}_total`,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
}
