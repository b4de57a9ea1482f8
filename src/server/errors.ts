import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { DomainError, ErrorCode } from '../errors.js';
import type { Logger } from '../lib/logger.js';
import { DecimalParseError } from '../schema/scalars.js';

/** Codes that graphql-js / Apollo produce for bad requests; safe to show as they are. */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * The one boundary between errors and clients. Domain errors keep their stable code and safe details;
 * request errors (parse, validation, limits) pass through; anything else is logged with its stack and
 * shown as a generic INTERNAL_SERVER_ERROR, so internals (SQL, vendor text, stack) never reach a client.
 */
export function makeFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    // A GraphQLError raised outside a resolver (e.g. graphql-ws onSubscribe) may carry a domain error too.
    const original = unwrapped instanceof GraphQLError && unwrapped.originalError instanceof DomainError ? unwrapped.originalError : unwrapped;
    if (original instanceof DomainError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { ...(original.details ?? {}), code: original.code },
      };
    }
    if (original instanceof DecimalParseError || (original instanceof GraphQLError && original.originalError instanceof DecimalParseError)) {
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'INVALID_DECIMAL' } };
    }
    if (original instanceof ArgumentValidationError) {
      return { message: 'Argument validation failed', path: formatted.path, extensions: { code: ErrorCode.BAD_USER_INPUT } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && REQUEST_CODES.has(code)) {
      // graphql-armor reports its limits as validation failures; give them their own code.
      const limit = /(depth|alias|cost|token|directive)/i.test(formatted.message) && /limit|exceed|maximum|more th/i.test(formatted.message);
      return { ...formatted, extensions: { code: limit ? ErrorCode.QUERY_TOO_COMPLEX : code } };
    }
    if (original instanceof GraphQLError && !original.originalError && code === undefined) {
      // A GraphQLError raised by graphql-js itself (e.g. non-null violation, unknown variable): a client mistake.
      return { ...formatted, extensions: { code: ErrorCode.BAD_USER_INPUT } };
    }
    logger.error({ err: original, path: formatted.path }, 'unhandled error in GraphQL operation');
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
