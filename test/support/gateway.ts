import 'reflect-metadata';
import { Gateway } from '../../src/app';
import { generateBearerToken } from '../../src/auth/bearer-token';
import { loadConfig, type Config } from '../../src/config';
import type { Keyrings } from '../../src/vault/keyring/keyrings';
import { LogCapture } from './log-capture';

export interface TestGateway {
  gateway: Gateway;
  url: string;
  wsUrl: string;
  /** A PLATFORM_ADMIN bearer token valid for this gateway. */
  platformToken: string;
  logs: LogCapture;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  env?: Record<string, string | undefined>;
  keyrings?: Keyrings;
}

/** A real gateway on a random loopback port, on the run's test database. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const platformToken = generateBearerToken();
  const config: Config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: requiredEnv('KEYWARD_TEST_DATABASE_URL'),
    KEYWARD_MASTER_KEY: requiredEnv('KEYWARD_TEST_MASTER_KEY'),
    KEYWARD_BOOTSTRAP_TOKEN: platformToken,
    LOG_LEVEL: 'debug',
    ...options.env,
  });
  const logs = new LogCapture();
  const gateway = await Gateway.start({ config, log: logs.logger, keyrings: options.keyrings });
  return {
    gateway,
    url: gateway.url,
    wsUrl: gateway.url.replace(/^http/, 'ws'),
    platformToken,
    logs,
    stop: () => gateway.stop(),
  };
}

/**
 * startTestGateway, retried when its migration or bootstrap lost a race with a gateway another
 * test file started at the same moment on the shared database (on PGlite all pooled connections
 * are one session, so the migration advisory lock does not exclude a second starter).
 */
export async function startSharedGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startTestGateway(options);
    } catch (error) {
      if (attempt >= 3 || !/already exists|duplicate key/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (globalSetup sets it)`);
  return value;
}
