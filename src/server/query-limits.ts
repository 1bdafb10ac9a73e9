import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  type DocumentNode,
  type GraphQLFormattedError,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { ErrorCode } from '../common/codes';
import type { QueryLimitsConfig } from '../config';

/**
 * Defaults (set in config.ts), checked against the contract's deepest and most expensive queries:
 * - depth 6: the deepest contract path is
 *   `issueApiToken { apiToken { user { tenant { policy { allowedModels } } } } }` = 6. Fragments
 *   are flattened (below), so clients' named fragments and the chat subscription's
 *   `... on ChatCompleted { usage { … } }` count as the response's nesting, not one level more.
 * - aliases 15, directives 50, tokens 1000: GraphQL Armor's; the full introspection query is about
 *   190 tokens, the largest contract operation about 60.
 * - cost 50,000 instead of Armor's 5,000: Armor multiplies a field's cost by a literal
 *   `first`/`last` argument, and `auditEvents` pages go up to 500 (MAX_PAGE_SIZE). A page of 500
 *   with every AuditEvent field costs about 31,600, so 5,000 would refuse `first: 80` and above
 *   (while the same query with `first: $n` passes). 50,000 admits one full page and still refuses
 *   aliased fan-outs such as two full pages, or fifteen aliases of `first: 200`.
 */
export interface QueryLimits {
  /** Depth, aliases, directives and cost: Apollo gets these as `validationRules`. */
  readonly validationRules: readonly ValidationRule[];
  /**
   * The same rules plus, when introspection is off, graphql's NoSchemaIntrospectionCustomRule.
   * On HTTP, Apollo's own `introspection` option adds its equivalent rule.
   */
  readonly webSocketValidationRules: readonly ValidationRule[];
  /** `parseOptions` for Apollo: the token limit is enforced by graphql's parser itself. */
  readonly parseOptions: { maxTokens: number };
  readonly introspection: boolean;
  /** Parses with the token limit; a failure is a GraphQLError whose message is already client-safe. */
  parse(source: string): DocumentNode;
  /** What a client may see of an error: no limit values and no "Did you mean" in production. */
  formatError(formatted: GraphQLFormattedError): GraphQLFormattedError;
}

export interface QueryLimitsOptions {
  limits: QueryLimitsConfig;
  introspection: boolean;
  /** Production hides the limit values and schema suggestions ("Did you mean …") from clients. */
  production: boolean;
}

/** graphql-js's token limit message (with its typo "more that" in 16.x). */
const TOKEN_LIMIT = /Document contains more tha[nt] \d+ tokens\. Parsing aborted\./;
/** graphql-js appends suggestions at the end: ` Did you mean "a", "b", or "c"?` */
const SUGGESTION = / ?Did you mean[\s\S]*\?$/;

/**
 * Armor reports a rejection as a GraphQLError "Syntax Error: …" without a code. Reported to the
 * validation context instead of thrown, it becomes an ordinary validation error on both transports;
 * the code is set explicitly so error masking keeps it (Apollo's wrapper would otherwise keep the
 * original error's code).
 */
const reportValidationError = (context: ValidationContext | null, error: GraphQLError): void => {
  context?.reportError(
    new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
      extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED },
    }),
  );
};

export function buildQueryLimits({ limits, introspection, production }: QueryLimitsOptions): QueryLimits {
  const exposeLimits = !production;
  const common = { exposeLimits, propagateOnRejection: false, onReject: [reportValidationError] };
  const armor = new ApolloArmor({
    maxDepth: {
      ...common,
      n: limits.maxDepth,
      flattenFragments: true,
      ignoreIntrospection: true,
      errorMessage: 'Query is nested too deeply.',
    },
    maxAliases: { ...common, n: limits.maxAliases, errorMessage: 'Query uses too many aliases.' },
    maxDirectives: { ...common, n: limits.maxDirectives, errorMessage: 'Query uses too many directives.' },
    costLimit: {
      ...common,
      maxCost: limits.maxCost,
      flattenFragments: true,
      ignoreIntrospection: true,
      errorMessage: 'Query is too expensive.',
    },
    // graphql's parser enforces the token limit (parseOptions / parse below) before any of this.
    maxTokens: { enabled: false },
    // Suggestions are removed from every error message in formatError below, not only validation's.
    blockFieldSuggestion: { enabled: false },
  });
  const validationRules = Object.freeze([...armor.protect().validationRules]);
  const webSocketValidationRules = Object.freeze(
    introspection ? [...validationRules] : [...validationRules, NoSchemaIntrospectionCustomRule],
  );

  const clientMessage = (message: string): string => {
    let safe = message.replace(
      TOKEN_LIMIT,
      exposeLimits
        ? `Document contains more than ${limits.maxTokens} tokens. Parsing aborted.`
        : 'Document contains too many tokens. Parsing aborted.',
    );
    if (production) safe = safe.replace(SUGGESTION, '');
    return safe;
  };

  return {
    validationRules,
    webSocketValidationRules,
    parseOptions: { maxTokens: limits.maxTokens },
    introspection,
    parse(source: string): DocumentNode {
      try {
        return parse(source, { maxTokens: limits.maxTokens });
      } catch (error) {
        if (error instanceof GraphQLError) {
          throw new GraphQLError(clientMessage(error.message), { source: error.source, positions: error.positions });
        }
        throw new GraphQLError('Syntax Error: the document could not be parsed.');
      }
    },
    formatError(formatted: GraphQLFormattedError): GraphQLFormattedError {
      const message = clientMessage(formatted.message);
      return message === formatted.message ? formatted : { ...formatted, message };
    },
  };
}
