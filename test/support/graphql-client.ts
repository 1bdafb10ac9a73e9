import type { ResultOf, VariablesOf } from './documents';
import type { TestGateway } from './gateway';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
  raw: string;
  /** The x-request-id header the gateway answered with. */
  requestId: string | null;
}

/** POSTs a GraphQL operation over HTTP, exactly as a client would. */
export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await response.text();
  const body = JSON.parse(raw) as { data?: T | null; errors?: GraphQLResponse['errors'] };
  return {
    status: response.status,
    data: body.data,
    errors: body.errors,
    raw,
    requestId: response.headers.get('x-request-id'),
  };
}

/** POSTs a document to the gateway as the holder of `token`; the response is typed by the document. */
export const post = <D extends string>(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: D,
  variables?: VariablesOf<D>,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<ResultOf<D>>> =>
  gql<ResultOf<D>>(gw.url, query, variables as Record<string, unknown> | undefined, token, headers);

/** The response of an operation that must have succeeded; fails loudly with the errors otherwise. */
export function succeeded<T>(res: GraphQLResponse<T>): GraphQLResponse<T> & { data: T } {
  if (res.errors?.length || !res.data) {
    throw new Error(`expected success, got HTTP ${res.status}: ${JSON.stringify(res.errors ?? res.raw)}`);
  }
  return res as GraphQLResponse<T> & { data: T };
}

/** Runs an operation that must succeed and returns its data. */
export async function ok<D extends string>(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: D,
  variables?: VariablesOf<D>,
  headers: Record<string, string> = {},
): Promise<ResultOf<D>> {
  return succeeded(await post(gw, token, query, variables, headers)).data;
}

/** The first error's extensions.code, whatever carried it (HTTP, WebSocket, a chat run). */
export const errorCode = (result: {
  readonly errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> | null;
}): unknown => result.errors?.[0]?.extensions?.code;

/** Runs an operation that must fail, and returns the first error's code. */
export async function failCode<D extends string>(
  gw: Pick<TestGateway, 'url'>,
  token: string | undefined,
  query: D,
  variables?: VariablesOf<D>,
): Promise<unknown> {
  const res = await post(gw, token, query, variables);
  if (!res.errors?.length) throw new Error(`expected an error, got ${res.raw}`);
  return errorCode(res);
}
