import { LRUCache } from 'lru-cache';
import { createNodeHttpFetch } from '../node-http-fetch';
import { AnthropicKeyClient } from './anthropic-key-client';

export interface AnthropicClientsOptions {
  baseURL?: string;
  max?: number;
  ttlMs?: number;
  timeoutMs?: number;
}

/**
 * SDK clients per credential and data-key version (or the platform key): a rotated or deleted
 * key has a new cache identity and is never served again, and two requests with different keys
 * never share a client. Bounded, so idle clients (and the keys they hold) age out.
 */
export class AnthropicClients {
  private readonly cache: LRUCache<string, AnthropicKeyClient>;
  /** One fetch, so all clients share its keep-alive connections. */
  private readonly fetch = createNodeHttpFetch();

  constructor(private readonly options: AnthropicClientsOptions = {}) {
    this.cache = new LRUCache({
      max: options.max ?? 1000,
      ttl: options.ttlMs ?? 5 * 60_000,
      // Read the clock on each lookup: at the default (1 ms), a lookup more than 1 ms after the
      // last one (any chat at low load) also arms a timer to forget the reading.
      ttlResolution: 0,
    });
  }

  /** `identity` is `<credentialId>:<dataKeyVersion>` or `platform`. */
  get(identity: string, apiKey: string): AnthropicKeyClient {
    const cached = this.cache.get(identity);
    if (cached && cached.apiKey === apiKey) return cached;
    const client = new AnthropicKeyClient({
      apiKey,
      baseURL: this.options.baseURL,
      maxRetries: 0,
      fetch: this.fetch,
      timeout: this.options.timeoutMs ?? 10 * 60_000,
    });
    this.cache.set(identity, client);
    return client;
  }

  get size(): number {
    return this.cache.size;
  }
}
