import { print, type DocumentNode } from '@0no-co/graphql.web';
import type { TadaDocumentNode } from 'gql.tada';
import { storedToken } from './session';

/** A GraphQL error as the console shows it: the server's message and its extensions.code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface GraphQLErrorBody {
  message: string;
  extensions?: Record<string, unknown>;
}

const printed = new WeakMap<object, string>();

export function queryText(document: DocumentNode): string {
  let text = printed.get(document);
  if (!text) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

export function errorFrom(errors: readonly GraphQLErrorBody[]): ApiError {
  const first = errors[0];
  const extensions = first?.extensions ?? {};
  return new ApiError(first?.message ?? 'Unknown error', String(extensions.code ?? 'ERROR'), extensions);
}

type Listener = (error: ApiError) => void;
const unauthenticatedListeners = new Set<Listener>();

/** Called when the server no longer accepts the session's token (revoked or expired). */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener);
  return () => unauthenticatedListeners.delete(listener);
}

/** One query or mutation over HTTP POST to /graphql with the session's token. */
export async function request<Result, Variables>(
  document: TadaDocumentNode<Result, Variables>,
  variables?: Variables,
  token: string | null = storedToken(),
): Promise<Result> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query: queryText(document), variables: variables ?? {} }),
    });
  } catch {
    throw new ApiError('Keyward cannot be reached. Check that the gateway is running, then try again.', 'NETWORK');
  }
  let body: { data?: Result; errors?: GraphQLErrorBody[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`Keyward answered with HTTP ${response.status} and no GraphQL result.`, 'BAD_RESPONSE');
  }
  if (body.errors?.length) {
    const error = errorFrom(body.errors);
    if (error.code === 'UNAUTHENTICATED' && token) for (const listener of unauthenticatedListeners) listener(error);
    throw error;
  }
  if (body.data === undefined) throw new ApiError('Keyward answered without data.', 'BAD_RESPONSE');
  return body.data;
}
