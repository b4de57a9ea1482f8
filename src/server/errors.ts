import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { BrokerUnavailableError, DomainError, ErrorCode } from '../errors.js';
import { BrokerTransientError } from '../brokers/broker.js';
import type { Logger } from '../lib/logger.js';
import { DecimalParseError } from '../schema/scalars.js';
import { limitMessage } from './limits.js';

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

/** Codes of the registry a boundary check may raise directly as a GraphQLError. */
const DOMAIN_CODES = new Set<string>(Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR));

/**
 * The one boundary between errors and clients. Domain errors keep their stable code and safe details;
 * request errors (parse, validation, limits) pass through; anything else is logged with its stack and
 * shown as a generic INTERNAL_SERVER_ERROR, so internals (SQL, vendor text, stack) never reach a client.
 */
export function makeFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    let original = unwrapResolverError(error);
    // A domain error raised outside a resolver (context creation, e.g. a rate limit) arrives wrapped.
    if (original instanceof GraphQLError && original.originalError instanceof DomainError) original = original.originalError;
    if (original instanceof BrokerTransientError) {
      // A broker that was not reached, wherever a service let it through: the stable code, never its text.
      logger.warn({ err: original, path: formatted.path }, 'broker unavailable during a GraphQL operation');
      original = new BrokerUnavailableError(undefined, original);
    }
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
    if (original instanceof GraphQLError && !original.originalError && typeof code === 'string' && DOMAIN_CODES.has(code)) {
      // Raised by our own boundary (door, input guard) with a stable code: shown as it is, minus transport hints.
      const { http: _http, ...extensions } = formatted.extensions ?? {};
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions };
    }
    if (typeof code === 'string' && REQUEST_CODES.has(code)) {
      // graphql-armor reports its limits as validation failures; give them their own code.
      const limit = /(depth|alias|cost|token|directive)/i.test(formatted.message) && /limit|exceed|maximum|more th/i.test(formatted.message);
      // An unparseable DateTime written inline in the query is a bad input, like one sent in a variable.
      if (code === 'GRAPHQL_VALIDATION_FAILED' && /^DateTime cannot represent/.test(formatted.message)) {
        return { ...formatted, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'INVALID_DATE' } };
      }
      if (limit) {
        return { ...formatted, message: limitMessage(formatted.message), extensions: { code: ErrorCode.QUERY_TOO_COMPLEX } };
      }
      return { ...formatted, extensions: { ...variableLocation(formatted.message), code } };
    }
    if (original instanceof GraphQLError && !original.originalError && code === undefined) {
      // A GraphQLError raised by graphql-js itself (e.g. non-null violation, unknown variable): a client mistake.
      return { ...formatted, extensions: { code: ErrorCode.BAD_USER_INPUT } };
    }
    logger.error({ err: original, path: formatted.path }, 'unhandled error in GraphQL operation');
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}

/**
 * Where in a variable graphql-js found a bad value ('Variable "$a" got invalid value "x" at "a[1].date"'):
 * the input field as `field`, the 1-based list position as `line` (imports), INVALID_DATE or INVALID_VALUE
 * as `reason`.
 */
export function variableLocation(message: string): { field?: string; line?: number; reason?: string } {
  const m = /got invalid value .*? at "([^"]+)"/.exec(message);
  if (!m) return {};
  const path = m[1]!;
  const field = /([A-Za-z_][A-Za-z0-9_]*)$/.exec(path)?.[1];
  const indexes = [...path.matchAll(/\[(\d+)\]/g)];
  const last = indexes.at(-1);
  return {
    ...(field ? { field } : {}),
    ...(last ? { line: Number(last[1]) + 1 } : {}),
    reason: /DateTime/.test(message) ? 'INVALID_DATE' : 'INVALID_VALUE',
  };
}
