/**
 * URLs an SDK client built, by base URL and path. The SDKs parse a URL, read its query back and
 * serialise it again on every request (`buildURL`); for one client and a path without a query the
 * result is always the same string. Bounded: chat clients ask for one path, but a path with an id
 * in it would otherwise add one entry per id.
 */
export class BuiltUrls {
  private static readonly MAX = 64;
  private readonly byKey = new Map<string, string>();

  /**
   * The client's `buildURL` for these arguments: built once per base URL and path, or afresh
   * (by `build`, the SDK's own) when the request has a query.
   */
  url(
    baseURL: string,
    path: string,
    query: Record<string, unknown> | null | undefined,
    defaultBaseURL: string | undefined,
    build: () => string,
  ): string {
    if (hasQuery(query)) return build();
    return this.of(`${baseURL}\n${defaultBaseURL ?? ''}\n${path}`, build);
  }

  /** `build()`'s URL, built once per key. */
  private of(key: string, build: () => string): string {
    let url = this.byKey.get(key);
    if (url === undefined) {
      url = build();
      if (this.byKey.size >= BuiltUrls.MAX) this.byKey.clear();
      this.byKey.set(key, url);
    }
    return url;
  }
}

/** Whether a request has query parameters of its own, which make its URL differ from call to call. */
function hasQuery(query: Record<string, unknown> | null | undefined): boolean {
  for (const _name in query) return true;
  return false;
}
