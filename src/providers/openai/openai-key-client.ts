import type { ClientOptions, default as OpenAISdk } from 'openai';
import { OpenAI } from './openai-sdk';
import type { NodeHttpFetch } from '../node-http-fetch';
import { BuiltUrls } from '../sdk-request-parts';

type AuthHeaders = ReturnType<OpenAISdk['authHeaders']>;
type AuthSchemes = NonNullable<Parameters<OpenAISdk['authHeaders']>[1]>;

/**
 * The SDK client of one fixed API key (a string, never a function: OpenAiClients makes a new
 * client when the key changes), over node-http-fetch so that a call can hand it its signal
 * (`abortingOn`). As AnthropicKeyClient: the auth headers of each auth scheme and the URL of a
 * path, which the SDK computes afresh for every request, are computed once by the SDK's own
 * methods and reused; the request is still built, sent and its errors mapped by the SDK. Loaded
 * with the first client (OpenAiClients.get), and the SDK with it.
 */
export class OpenAiKeyClient extends OpenAI {
  private readonly authHeadersBySchemes = new Map<string, AuthHeaders>();
  private readonly urls = new BuiltUrls();

  constructor(options: ClientOptions & { apiKey: string; fetch: NodeHttpFetch }) {
    super(options);
  }

  protected override authHeaders(
    options: Parameters<OpenAISdk['authHeaders']>[0],
    schemes: AuthSchemes = { bearerAuth: true, adminAPIKeyAuth: true },
  ): AuthHeaders {
    const key = `${schemes.bearerAuth === true} ${schemes.adminAPIKeyAuth === true}`;
    let headers = this.authHeadersBySchemes.get(key);
    if (!headers) {
      // The SDK only reads them (merging them into each request's own Headers).
      headers = super.authHeaders(options, schemes);
      this.authHeadersBySchemes.set(key, headers);
    }
    return headers;
  }

  override buildURL(
    path: string,
    query: Record<string, unknown> | null | undefined,
    defaultBaseURL?: string | undefined,
  ): string {
    return this.urls.url(this.baseURL, path, query, defaultBaseURL, () => super.buildURL(path, query, defaultBaseURL));
  }
}
