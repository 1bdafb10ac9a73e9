import {
  GraphQLError,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import type { QueryLimits } from '../query-limits';
import { requestError } from './request-error';

export type CheckedDocument = { document: DocumentNode } | { errors: GraphQLError[] };

/** Longer query texts are checked every time: hostile input must not fill the cache. */
const MAX_CACHED_QUERY_LENGTH = 16_384;

/**
 * Parses and validates an operation's query with the same limits and rules HTTP applies.
 * Both depend only on the query text (schema and rules are fixed), so a chat front end sending
 * the same subscription over and over pays for it once: valid, ordinary-sized documents are cached.
 */
export class DocumentChecker {
  private readonly rules: readonly ValidationRule[];
  private readonly validDocuments = new LRUCache<string, DocumentNode>({ max: 500 });

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly limits: Pick<QueryLimits, 'parse' | 'webSocketValidationRules'>,
  ) {
    this.rules = [...specifiedRules, ...limits.webSocketValidationRules];
  }

  check(query: string): CheckedDocument {
    const cached = this.validDocuments.get(query);
    if (cached) return { document: cached };
    const checked = this.parseAndValidate(query);
    if ('document' in checked && query.length <= MAX_CACHED_QUERY_LENGTH)
      this.validDocuments.set(query, checked.document);
    return checked;
  }

  private parseAndValidate(query: string): CheckedDocument {
    let document: DocumentNode;
    try {
      document = this.limits.parse(query);
    } catch (error) {
      // limits.parse throws only GraphQLErrors, with a client-safe message; keep their location.
      const { message, source, positions } = error as GraphQLError;
      return {
        errors: [new GraphQLError(message, { source, positions, extensions: { code: 'GRAPHQL_PARSE_FAILED' } })],
      };
    }
    const validationErrors = validate(this.schema, document, this.rules);
    if (validationErrors.length > 0) {
      return {
        errors: validationErrors.map((error) => requestError(error.message, 'GRAPHQL_VALIDATION_FAILED', error)),
      };
    }
    return { document };
  }
}
