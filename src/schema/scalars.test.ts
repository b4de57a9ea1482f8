import { describe, expect, it } from 'vitest';
import { Kind } from 'graphql';
import { DecimalScalar, DecimalParseError } from './scalars.js';

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
});
