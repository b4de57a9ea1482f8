import { describe, expect, it } from 'vitest';
import { Kind } from 'graphql';
import fc from 'fast-check';
import { Decimal } from '../lib/decimal.js';
import { DecimalScalar, DecimalParseError, canonical, canonicalText } from './scalars.js';

describe('Decimal scalar', () => {
  it('serialises numeric column text in one canonical form', () => {
    expect(DecimalScalar.serialize('10.00000000')).toBe('10.00');
    expect(DecimalScalar.serialize('1000000.00')).toBe('1000000.00');
    expect(DecimalScalar.serialize('1234.50000000')).toBe('1234.50');
    expect(DecimalScalar.serialize('2500.05')).toBe('2500.05');
    expect(DecimalScalar.serialize('0.12500000')).toBe('0.125');
    expect(DecimalScalar.serialize(7)).toBe('7.00');
    expect(DecimalScalar.serialize('-3.10')).toBe('-3.10');
  });

  it('parses exact decimal strings and integers, and refuses floats and junk', () => {
    expect(DecimalScalar.parseValue('1234.50')).toBe('1234.5');
    expect(DecimalScalar.parseValue(7)).toBe('7');
    expect(() => DecimalScalar.parseValue(1.5)).toThrow(DecimalParseError);
    expect(() => DecimalScalar.parseValue('1e5')).toThrow(DecimalParseError);
    expect(() => DecimalScalar.parseValue('ten')).toThrow(DecimalParseError);
    expect(() => DecimalScalar.parseLiteral({ kind: Kind.FLOAT, value: '1.5' })).toThrow(DecimalParseError);
  });

  it('serialises plain text without a Decimal exactly as through one (zeros, signs, long digits)', () => {
    for (const t of ['0', '-0', '-0.000', '00012.3400', '5', '-5.1', '0.000001', '123456789012345678901234567890.123456789012'])
      expect(canonicalText(t)).toBe(canonical(new Decimal(t)));
    const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: min, maxLength: max });
    fc.assert(
      fc.property(fc.boolean(), digits(1, 30), fc.option(digits(1, 12)), (neg, int, frac) => {
        const t = `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}`;
        expect(canonicalText(t)).toBe(canonical(new Decimal(t)));
      }),
      { numRuns: 2000 },
    );
  });
});
