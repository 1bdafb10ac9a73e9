import type OpenAI from 'openai';
import type { ClientOptions } from 'openai';
import { LRUCache } from 'lru-cache';
import { createNodeHttpFetch, type NodeHttpFetch } from '../node-http-fetch';
import type { OpenAiKeyClient } from './openai-key-client';

export interface OpenAiClientsOptions {
  /** The API root with its version, as the SDK takes it: `https://api.openai.com/v1`, `https://openrouter.ai/api/v1`. */
  baseURL: string;
  /** Sent with every request (OpenRouter's `HTTP-Referer` and `X-Title`). */
  headers?: Record<string, string>;
  /** Shared with other clients so they share its keep-alive connections; default: a new one. */
  fetch?: NodeHttpFetch;
  max?: number;
  ttlMs?: number;
  timeoutMs?: number;
}

/**
 * OpenAI SDK clients for one OpenAI-compatible API (OpenAI, OpenRouter), per credential and
 * data-key version (or the platform key): as AnthropicClients, a rotated or deleted key has a new
 * cache identity and two requests with different keys never share a client. Bounded. The SDK is
 * loaded with the first client: about 1.2 MB of heap that a gateway never calling OpenAI or
 * OpenRouter does not carry.
 */
export class OpenAiClients {
  private readonly cache: LRUCache<string, OpenAiKeyClient>;
  private readonly fetch: NodeHttpFetch;

  constructor(private readonly options: OpenAiClientsOptions) {
    this.cache = new LRUCache({
      max: options.max ?? 1000,
      ttl: options.ttlMs ?? 5 * 60_000,
      // Read the clock on each lookup: at the default (1 ms), a lookup more than 1 ms after the
      // last one (any chat at low load) also arms a timer to forget the reading.
      ttlResolution: 0,
    });
    this.fetch = options.fetch ?? createNodeHttpFetch();
  }

  /** `identity` is `<credentialId>:<dataKeyVersion>` or `platform`. */
  async get(identity: string, apiKey: string): Promise<OpenAiKeyClient> {
    const cached = this.cache.get(identity);
    if (cached && cached.apiKey === apiKey) return cached;
    const { OpenAiKeyClient } = await import('./openai-key-client.js');
    const client = new OpenAiKeyClient({
      ...openAiClientOptions(apiKey, {
        baseURL: this.options.baseURL,
        headers: this.options.headers,
        maxRetries: 0,
        timeoutMs: this.options.timeoutMs ?? 10 * 60_000,
      }),
      fetch: this.fetch,
    });
    this.cache.set(identity, client);
    return client;
  }

  get size(): number {
    return this.cache.size;
  }
}

interface OpenAiClientSettings {
  baseURL: string;
  headers?: Record<string, string>;
  maxRetries: number;
  timeoutMs: number;
}

/** A client with every setting explicit (see openAiClientOptions), over the global fetch: for one-off calls. */
export async function createOpenAiClient(apiKey: string, settings: OpenAiClientSettings): Promise<OpenAI> {
  const { OpenAI } = await import('./openai-sdk.js');
  return new OpenAI(openAiClientOptions(apiKey, settings));
}

/**
 * Every setting explicit: the SDK would otherwise take its base URL, organization and project
 * from OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID in the environment, and send
 * OpenAI's organization headers to OpenRouter too.
 */
function openAiClientOptions(apiKey: string, settings: OpenAiClientSettings): ClientOptions & { apiKey: string } {
  return {
    apiKey,
    baseURL: settings.baseURL,
    organization: null,
    project: null,
    webhookSecret: null,
    defaultHeaders: settings.headers,
    maxRetries: settings.maxRetries,
    timeout: settings.timeoutMs,
  };
}
