import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk';
import type { NodeHttpFetch } from '../node-http-fetch';
import { BuiltUrls } from '../sdk-request-parts';

type AuthHeaders = ReturnType<Anthropic['authHeaders']>;

/**
 * The SDK client of one fixed API key (AnthropicClients makes a new one when the key changes),
 * over node-http-fetch so that a call can hand it its signal (`abortingOn`). The SDK computes two
 * parts of every request afresh that, for such a client, never change: the auth headers (a
 * Headers object built through three merges) and the URL of a path (parsed, its query read back,
 * serialised). Here each is computed once, by the SDK's own method, and reused; the request is
 * still built, sent and its errors mapped by the SDK.
 */
export class AnthropicKeyClient extends Anthropic {
  private authHeadersOfKey?: AuthHeaders;
  private readonly urls = new BuiltUrls();

  constructor(options: ClientOptions & { apiKey: string; fetch: NodeHttpFetch }) {
    super(options);
  }

  protected override authHeaders(options: Parameters<Anthropic['authHeaders']>[0]): AuthHeaders {
    // The SDK only reads them (merging them into each request's own Headers).
    return (this.authHeadersOfKey ??= super.authHeaders(options));
  }

  override buildURL(
    path: string,
    query: Record<string, unknown> | null | undefined,
    defaultBaseURL?: string | undefined,
  ): string {
    return this.urls.url(this.baseURL, path, query, defaultBaseURL, () => super.buildURL(path, query, defaultBaseURL));
  }
}
