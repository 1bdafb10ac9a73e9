import type OpenAI from 'openai';
import { LRUCache } from 'lru-cache';
import { createNodeHttpFetch } from '../node-http-fetch';

export interface OpenAiClientsOptions {
  /** The API root with its version, as the SDK takes it: `https://api.openai.com/v1`, `https://openrouter.ai/api/v1`. */
  baseURL: string;
  /** Sent with every request (OpenRouter's `HTTP-Referer` and `X-Title`). */
  headers?: Record<string, string>;
  /** Shared with other clients so they share its keep-alive connections; default: a new one. */
  fetch?: typeof fetch;
  max?: number;
  ttlMs?: number;
  timeoutMs?: number;
}

/**
 * OpenAI SDK clients for one OpenAI-compatible API (OpenAI, OpenRouter), per credential and
 * data-key version (or the platform key): as AnthropicClients, a rotated or deleted key has a new
 * cache identity and two requests with different keys never share a client. Bounded. The SDK is
 * loaded with the first client (see createOpenAiClient).
 */
export class OpenAiClients {
  private readonly cache: LRUCache<string, OpenAI>;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: OpenAiClientsOptions) {
    this.cache = new LRUCache({ max: options.max ?? 1000, ttl: options.ttlMs ?? 5 * 60_000 });
    this.fetch = options.fetch ?? createNodeHttpFetch();
  }

  /** `identity` is `<credentialId>:<dataKeyVersion>` or `platform`. */
  async get(identity: string, apiKey: string): Promise<OpenAI> {
    const cached = this.cache.get(identity);
    if (cached && cached.apiKey === apiKey) return cached;
    const client = await createOpenAiClient(apiKey, {
      baseURL: this.options.baseURL,
      headers: this.options.headers,
      fetch: this.fetch,
      maxRetries: 0,
      timeoutMs: this.options.timeoutMs ?? 10 * 60_000,
    });
    this.cache.set(identity, client);
    return client;
  }

  get size(): number {
    return this.cache.size;
  }
}

/**
 * A client with every setting explicit: the SDK would otherwise take its base URL, organization
 * and project from OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID in the environment, and
 * send OpenAI's organization headers to OpenRouter too. The SDK is imported here, at the first
 * client: about 1.2 MB of heap that a gateway never calling OpenAI or OpenRouter does not carry.
 */
export async function createOpenAiClient(
  apiKey: string,
  options: {
    baseURL: string;
    headers?: Record<string, string>;
    fetch?: typeof fetch;
    maxRetries: number;
    timeoutMs: number;
  },
): Promise<OpenAI> {
  const { OpenAI } = await import('./openai-sdk.js');
  return new OpenAI({
    apiKey,
    baseURL: options.baseURL,
    organization: null,
    project: null,
    webhookSecret: null,
    defaultHeaders: options.headers,
    maxRetries: options.maxRetries,
    timeout: options.timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
