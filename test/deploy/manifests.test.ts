import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { ROOT } from '../support/gateway-process';

/**
 * The deploy files (docker-compose.yml, deploy/nginx, deploy/kubernetes) parse, and agree with
 * the gateway: probe paths it answers, ports it listens on, drain times and keep-alive ping from
 * src/config.ts's defaults, variables it reads, and no secret written into them.
 */

type Doc = Record<string, any>;

const KUBERNETES_DIR = join(ROOT, 'deploy/kubernetes');
const defaults = loadConfig({});
const drainSeconds = defaults.drainMs / 1000;
const shutdownGraceSeconds = defaults.shutdownGraceMs / 1000;
const keepAliveSeconds = defaults.webSocket.keepAliveMs / 1000;

/** Variables whose values are secrets: they come from a Secret or the operator's environment, never a manifest. */
const isSecretVariable = (name: string): boolean => /(_KEY|_KEYS|_TOKEN|DATABASE_URL|PASSWORD)$/.test(name);

const manifests: Doc[] = readdirSync(KUBERNETES_DIR)
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(KUBERNETES_DIR, file), 'utf8')).map((document) => {
      if (document.errors.length) throw new Error(`${file}: ${document.errors.map(String).join('; ')}`);
      return document.toJS() as Doc;
    }),
  );
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Doc;
const nginxConf = readFileSync(join(ROOT, 'deploy/nginx/keyward.conf'), 'utf8');

const ofKind = (kind: string): Doc[] => manifests.filter((manifest) => manifest.kind === kind);
const only = (kind: string): Doc => {
  const found = ofKind(kind);
  expect(found).toHaveLength(1);
  return found[0];
};
const deployment = only('Deployment');
const pod = deployment.spec.template.spec as Doc;
const container = (pod.containers as Doc[]).find((candidate) => candidate.name === 'keyward') as Doc;
const containerEnv: Record<string, Doc> = Object.fromEntries(
  (container.env as Doc[]).map((entry) => [entry.name, entry]),
);
const replicaServices = Object.entries(compose.services as Record<string, Doc>).filter(([, service]) =>
  String(service.command).includes('dist/src/main.js'),
);

/** `30s`, `1m30s`, `75` (nginx: seconds) in seconds. */
function seconds(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(?:(\d+)m)?(?:(\d+)s?)?$/.exec(value.trim());
  if (!match || (!match[1] && !match[2])) throw new Error(`not a duration: ${value}`);
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

function nginxDirective(name: string): string[] {
  return [...nginxConf.matchAll(new RegExp(`^\\s*${name}\\s+([^;{}\\n]+);`, 'gm'))].map((match) => match[1].trim());
}

/** The port a probe or Service targets: a number, or the name of one of the container's ports. */
function containerPort(port: string | number): number {
  if (typeof port === 'number') return port;
  const named = (container.ports as Doc[]).find((candidate) => candidate.name === port);
  if (!named) throw new Error(`no container port named ${port}`);
  return named.containerPort as number;
}

describe('the gateway answers the probes the deploy files use', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const probePaths = new Set<string>([
    container.readinessProbe.httpGet.path,
    container.livenessProbe.httpGet.path,
    container.startupProbe.httpGet.path,
    ...replicaServices.map(
      ([, service]) => new URL(/http:\/\/[^'"]+/.exec(service.healthcheck.test.join(' '))![0]).pathname,
    ),
  ]);

  test.each([...probePaths])('%s answers 200', async (path) => {
    expect((await fetch(new URL(path, gw.url))).status).toBe(200);
  });

  test('readiness is /readyz and liveness /healthz (readiness follows the database and the drain)', () => {
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    for (const [, service] of replicaServices) expect(service.healthcheck.test.join(' ')).toContain('/readyz');
  });
});

describe('kubernetes', () => {
  test('every manifest has a kind, an apiVersion and a name', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(5);
    for (const manifest of manifests) {
      expect(manifest).toEqual(expect.objectContaining({ apiVersion: expect.any(String), kind: expect.any(String) }));
      expect(manifest.metadata.name).toEqual(expect.any(String));
    }
  });

  test('at least two replicas, and a disruption budget and Service that select them', () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    expect(podLabels).toEqual(expect.objectContaining(deployment.spec.selector.matchLabels));
    const pdb = only('PodDisruptionBudget');
    expect(podLabels).toEqual(expect.objectContaining(pdb.spec.selector.matchLabels));
    expect(pdb.spec.maxUnavailable ?? deployment.spec.replicas - pdb.spec.minAvailable).toBeLessThan(
      deployment.spec.replicas,
    );
    const service = only('Service');
    expect(podLabels).toEqual(expect.objectContaining(service.spec.selector));
    expect(containerPort(service.spec.ports[0].targetPort)).toBe(Number(containerEnv.PORT.value));
  });

  test('the probes target the port the gateway listens on', () => {
    const listening = Number(containerEnv.PORT.value);
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(containerPort(probe.httpGet.port)).toBe(listening);
    }
  });

  test('terminationGracePeriodSeconds covers preStop, the drain and the HTTP grace (config defaults)', () => {
    expect(Number(containerEnv.KEYWARD_DRAIN_SECONDS.value)).toBe(drainSeconds);
    expect(Number(containerEnv.KEYWARD_SHUTDOWN_GRACE_SECONDS.value)).toBe(shutdownGraceSeconds);
    const [sleep, preStopSeconds] = container.lifecycle.preStop.exec.command as string[];
    expect(sleep).toBe('sleep');
    // At least one readiness period, so load balancers have seen the pod leave before SIGTERM.
    expect(Number(preStopSeconds)).toBeGreaterThanOrEqual(container.readinessProbe.periodSeconds);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      Number(preStopSeconds) + drainSeconds + shutdownGraceSeconds,
    );
  });

  test('secrets come from the Secret, whose example holds placeholders only', () => {
    const secret = only('Secret');
    expect(container.envFrom).toContainEqual({ secretRef: { name: secret.metadata.name } });
    for (const [name, value] of Object.entries(secret.stringData as Record<string, string>)) {
      expect(CONFIG_VARIABLES).toContain(name);
      expect(value).toMatch(/^<[^>]+>$/);
    }
    expect(secret.data).toBeUndefined();
    for (const [name, entry] of Object.entries(containerEnv)) {
      if (isSecretVariable(name)) expect(entry.value).toBeUndefined();
    }
  });

  test('every variable set is one the gateway reads', () => {
    for (const name of Object.keys(containerEnv)) expect(CONFIG_VARIABLES).toContain(name);
  });

  test('the Ingress routes to the Service and outwaits the WebSocket keep-alive ping', () => {
    const ingress = only('Ingress');
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe(only('Service').metadata.name);
    const annotations = ingress.metadata.annotations as Record<string, string>;
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(seconds(annotations[`nginx.ingress.kubernetes.io/${key}`])).toBeGreaterThan(keepAliveSeconds);
    }
  });
});

describe('docker compose and nginx', () => {
  test('PostgreSQL, two gateway replicas and nginx', () => {
    expect(compose.services.postgres.image).toMatch(/^postgres:/);
    expect(replicaServices).toHaveLength(2);
    expect(compose.services.nginx.image).toMatch(/^nginx:/);
    for (const [, service] of replicaServices) {
      expect(service.image).toBe('node:20-bookworm');
      expect(service.environment.KEYWARD_MASTER_KEY).toMatch(/^\$\{KEYWARD_MASTER_KEY:\?/);
    }
  });

  test('nginx sends to every replica, on the port it listens on, with least_conn', () => {
    const servers = nginxDirective('server').map((server) => server.split(/\s+/)[0]);
    expect(servers.sort()).toEqual(
      replicaServices.map(([name, service]) => `${name}:${service.environment.PORT}`).sort(),
    );
    expect(nginxConf).toMatch(/^\s*least_conn;/m);
  });

  test('nginx passes WebSocket upgrades and outwaits the keep-alive ping', () => {
    expect(nginxDirective('proxy_http_version')).toEqual(['1.1']);
    expect(nginxDirective('proxy_set_header')).toEqual(
      expect.arrayContaining(['Upgrade $http_upgrade', 'Connection $connection_upgrade']),
    );
    for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const values = nginxDirective(directive);
      expect(values).toHaveLength(1);
      expect(seconds(values[0])).toBeGreaterThan(keepAliveSeconds);
    }
  });

  test('replicas get the drain and grace before being killed, and readiness gates nginx', () => {
    for (const [name, service] of replicaServices) {
      expect(Number(service.environment.KEYWARD_DRAIN_SECONDS ?? drainSeconds)).toBe(drainSeconds);
      expect(seconds(service.stop_grace_period)).toBeGreaterThanOrEqual(drainSeconds + shutdownGraceSeconds);
      expect(service.healthcheck.test.join(' ')).toContain(`:${service.environment.PORT}/readyz`);
      expect(compose.services.nginx.depends_on[name]).toEqual({ condition: 'service_healthy' });
    }
  });

  test('every variable set is one the gateway reads, and secrets come from the environment', () => {
    const postgresPassword = compose.services.postgres.environment.POSTGRES_PASSWORD as string;
    for (const [, service] of replicaServices) {
      for (const [name, value] of Object.entries(service.environment as Record<string, string>)) {
        expect(CONFIG_VARIABLES).toContain(name);
        if (!isSecretVariable(name)) continue;
        if (name === 'DATABASE_URL') {
          // The compose file's own throwaway PostgreSQL, reachable only on its network.
          expect(new URL(value).hostname).toBe('postgres');
          expect(decodeURIComponent(new URL(value).password)).toBe(postgresPassword);
        } else {
          expect(value).toMatch(new RegExp(`^\\$\\{${name}[:?}-]`));
        }
      }
    }
  });
});
