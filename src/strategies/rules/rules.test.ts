import { describe, expect, it } from 'vitest';
import { RuleError } from './ast.js';
import { compileRule, evaluateSeries } from './evaluator.js';
import type { Bar } from '../../market/history.js';

const bars = (closes: number[]): Bar[] => closes.map((c, i) => ({ time: Date.UTC(2026, 0, 1) + i * 60_000, open: c, high: c + 1, low: c - 1, close: c, volume: 100 }));
const refused = (src: string): RuleError => {
  try {
    compileRule(src);
  } catch (e) {
    if (e instanceof RuleError) return e;
    throw e;
  }
  throw new Error(`accepted: ${src}`);
};

describe('rule language', () => {
  it('parses the API examples and normalises them', () => {
    const r = compileRule('crossesAbove(macd(close,12,26,9), macdSignal(close,12,26,9)) and close > vwap()');
    expect(r.type).toBe('boolean');
    expect(r.normalized).toBe('(crossesAbove(macd(close, 12, 26, 9), macdSignal(close, 12, 26, 9)) and (close > vwap()))');
    expect(compileRule('rsi(close,14) < 30 and not (close < sma(close,200))').type).toBe('boolean');
    expect(compileRule('sma(close, 3) - 1').type).toBe('number');
  });
  it('follows precedence: arithmetic before comparison before not/and/or', () => {
    expect(compileRule('1 + 2 * 3 > 6 or 1 > 2 and 3 > 4').normalized).toBe('(((1 + (2 * 3)) > 6) or ((1 > 2) and (3 > 4)))');
  });
  it('evaluates x[n] as the value n bars ago', () => {
    expect(evaluateSeries(compileRule('close[2]'), bars([5, 6, 7, 8]))).toEqual([null, null, 5, 6]);
    expect(evaluateSeries(compileRule('close - close[1]'), bars([5, 6, 8]))).toEqual([null, 1, 2]);
  });
  it('crossesAbove(a, b) is a[1] <= b[1] and a > b', () => {
    expect(evaluateSeries(compileRule('crossesAbove(close, 10)'), bars([9, 10, 11, 12, 9, 11]))).toEqual([0, 0, 1, 0, 0, 1]);
    expect(evaluateSeries(compileRule('crossesBelow(close, 10)'), bars([11, 10, 9, 9, 12, 8]))).toEqual([0, 0, 1, 0, 0, 1]);
  });
  it('an unknown value during warm-up makes a comparison unknown and a condition false', () => {
    expect(evaluateSeries(compileRule('sma(close, 2) > 5'), bars([6, 6, 4]))).toEqual([null, 1, 0]);
    expect(evaluateSeries(compileRule('sma(close, 2) > 5 or close > 0'), bars([6]))).toEqual([1]);
  });
  it('division by zero is unknown, not Infinity', () => {
    expect(evaluateSeries(compileRule('close / (close - close)'), bars([1]))).toEqual([null]);
  });
  it('counts warm-up from the deepest chain', () => {
    expect(compileRule('sma(close, 20)').warmup).toBe(21);
    expect(compileRule('close[5] > sma(close, 3)').warmup).toBe(6);
  });
  it.each([
    ['close >', 1, 8, 'PARSE_ERROR'],
    ['foo(close, 3)', 1, 1, 'UNKNOWN_INDICATOR'],
    ['close > price', 1, 9, 'UNKNOWN_INDICATOR'],
    ['sma(close)', 1, 1, 'WRONG_ARITY'],
    ['rsi(close, 0) < 3', 1, 12, 'INVALID_PERIOD'],
    ['rsi(close, 2.5) < 3', 1, 12, 'INVALID_PERIOD'],
    ['sma(close, 100000)', 1, 12, 'PERIOD_TOO_LARGE'],
    ['close and 1', 1, 1, 'TYPE_ERROR'],
    ['close > 1 $', 1, 11, 'PARSE_ERROR'],
    ['close > 1\n  and (open < ', 2, 15, 'PARSE_ERROR'],
    ['macd(close, 26, 12, 9)', 1, 1, 'INVALID_PERIOD'],
    ['1 < 2 < 3', 1, 7, 'PARSE_ERROR'],
  ])('refuses %j at line %i column %i (%s)', (src, line, column, reason) => {
    const e = refused(src);
    expect({ line: e.line, column: e.column, reason: e.reason }).toEqual({ line, column, reason });
  });
  it('bounds the size of a rule', () => {
    expect(refused(Array(300).fill('close').join(' + ')).reason).toBe('TOO_COMPLEX');
  });
});
