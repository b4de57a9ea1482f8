import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Decimal } from '../lib/decimal.js';

const DECIMAL_TEXT = /^-?(?:0|[1-9]\d{0,29})(?:\.\d{1,12})?$/;

/** Raised while parsing a Decimal argument; the error boundary reports it as BAD_USER_INPUT. */
export class DecimalParseError extends GraphQLError {
  constructor(value: unknown) {
    super(`Decimal must be a string holding an exact decimal like "1234.50"; got ${JSON.stringify(value)?.slice(0, 40)}`, {
      extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_DECIMAL' },
    });
  }
}

const DECIMAL_OUT = /^-?\d+(\.\d+)?$/;

/**
 * One text form for every Decimal the API returns, whatever the scale of its column: at least two
 * decimal places and no trailing zeros beyond them ("10.00", "1234.50", "0.125", "2500.05").
 */
export function canonical(d: Decimal): string {
  return d.decimalPlaces() < 2 ? d.toFixed(2) : d.toFixed();
}

/**
 * {@link canonical} of plain decimal text (`-?\d+(\.\d+)?`), by one pass over the characters instead
 * of a Decimal per value: every money field of every response goes through here (a portfolio page
 * serialises a few hundred). Same result as `canonical(new Decimal(text))`.
 */
export function canonicalText(text: string): string {
  const neg = text.charCodeAt(0) === 45;
  const dot = text.indexOf('.');
  const intEnd = dot < 0 ? text.length : dot;
  let i = neg ? 1 : 0;
  while (i < intEnd - 1 && text.charCodeAt(i) === 48) i++;
  const int = text.slice(i, intEnd);
  let frac = '';
  if (dot >= 0) {
    let end = text.length;
    while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
    frac = text.slice(dot + 1, end);
  }
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  const zero = int === '0' && /^0*$/.test(frac);
  return `${neg && !zero ? '-' : ''}${int}.${frac}`;
}

function parseDecimal(value: unknown): string {
  // Strings are the contract. Integers are accepted too (exact); floats are refused, they are not exact.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string') throw new DecimalParseError(value);
  const v = value.trim();
  if (!DECIMAL_TEXT.test(v)) throw new DecimalParseError(value);
  return new Decimal(v).toFixed();
}

/** Exact decimal as a string, e.g. "1234.50". Up to 30 integer digits and 12 decimals on input. */
export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number as a string, e.g. "1234.50". Money, prices and quantities are never floats.',
  serialize(value) {
    if (value instanceof Decimal) return canonical(value);
    if (typeof value === 'string' && DECIMAL_OUT.test(value)) return canonicalText(value);
    if (typeof value === 'number' && Number.isSafeInteger(value)) return canonical(new Decimal(value));
    throw new GraphQLError('Decimal cannot represent a non-decimal value');
  },
  parseValue: parseDecimal,
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING) return parseDecimal(ast.value);
    if (ast.kind === Kind.INT) return parseDecimal(Number(ast.value));
    throw new DecimalParseError(ast.kind === Kind.FLOAT ? Number(ast.value) : ast.kind);
  },
});

export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  name: 'DateTime',
  description: 'An ISO-8601 timestamp in UTC, e.g. "2026-01-05T09:15:00.000Z".',
});

export const JSONScalar = JSONResolver;
