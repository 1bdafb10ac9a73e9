import { GraphQLError } from 'graphql';

/** A client error with its code, keeping the original's location in the document. */
export const requestError = (message: string, code: string, original?: GraphQLError): GraphQLError =>
  new GraphQLError(message, { nodes: original?.nodes, extensions: { code } });
