import {
  getOperationAST,
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { requestError } from './request-error';

/** The operation a valid document asks to run, or OPERATION_RESOLUTION_FAILURE. */
export function findOperation(
  document: DocumentNode,
  operationName: string | null | undefined,
): { operation: OperationDefinitionNode } | { errors: GraphQLError[] } {
  const operation = getOperationAST(document, operationName);
  if (!operation)
    return { errors: [requestError('Could not determine the operation to run', 'OPERATION_RESOLUTION_FAILURE')] };
  return { operation };
}

/** The variables coerced to the operation's declared types, or BAD_USER_INPUT for each that is not. */
export function coerceVariables(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): { variableValues: Record<string, unknown> } | { errors: GraphQLError[] } {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors)
    return { errors: coerced.errors.map((error) => requestError(error.message, 'BAD_USER_INPUT', error)) };
  return { variableValues: coerced.coerced };
}
