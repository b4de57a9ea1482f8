import { BadInputError } from '../errors.js';
import { RuleError } from './rules/ast.js';
import { compileRule, type CompiledRule } from './rules/evaluator.js';

export type StrategyKind = 'MACD_VWAP' | 'SMA_CROSS' | 'RSI_REVERSION' | 'STD_MOMENTUM' | 'RULES';
export type PositionSide = 'LONG' | 'SHORT' | 'BOTH';
export type SignalAction = 'ENTER_LONG' | 'EXIT_LONG' | 'ENTER_SHORT' | 'EXIT_SHORT';
export const STRATEGY_KINDS: readonly StrategyKind[] = ['MACD_VWAP', 'SMA_CROSS', 'RSI_REVERSION', 'STD_MOMENTUM', 'RULES'];

export interface RulesSpec {
  entry: string;
  exit?: string | null;
  side?: PositionSide | null;
}

/** The four conditions a strategy decides with; a missing one never fires. */
export interface RuleSet {
  enterLong?: CompiledRule;
  exitLong?: CompiledRule;
  enterShort?: CompiledRule;
  exitShort?: CompiledRule;
  /** Bars needed before every condition is warm. */
  warmup: number;
  /** Whether the warm-up must also start at the UTC day of its first bar (a condition uses `vwap`). */
  dayAnchored: boolean;
  /** The expressions, for run records and the README. */
  expressions: Partial<Record<'enterLong' | 'exitLong' | 'enterShort' | 'exitShort', string>>;
}

type Params = Record<string, unknown>;

function intParam(params: Params, name: string, def: number, max = 5000): number {
  const v = params[name] ?? def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new BadInputError(`parameters.${name} must be a whole number of at least 1`, `parameters.${name}`, 'INVALID_PERIOD');
  if (v > max) throw new BadInputError(`parameters.${name} must be at most ${max}`, `parameters.${name}`, 'PERIOD_TOO_LARGE');
  return v;
}
function numParam(params: Params, name: string, def: number): number {
  const v = params[name] ?? def;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInputError(`parameters.${name} must be a number`, `parameters.${name}`, 'INVALID_NUMBER');
  return v;
}
function sideParam(params: Params, def: PositionSide): PositionSide {
  const v = params.side ?? def;
  if (v !== 'LONG' && v !== 'SHORT' && v !== 'BOTH') throw new BadInputError('parameters.side must be LONG, SHORT or BOTH', 'parameters.side', 'INVALID_SIDE');
  return v;
}

/**
 * Compile one expression, turning a rule error into BAD_USER_INPUT on `field` with line and column.
 * `want`: a condition, a number, or either (`any`).
 */
export function compileField(source: string, field: string, want: 'boolean' | 'number' | 'any' = 'boolean'): CompiledRule {
  try {
    const r = compileRule(source);
    if (want !== 'any' && r.type !== want) throw new RuleError(`${field} must be a ${want === 'boolean' ? 'condition' : 'number'}`, 1, 1, 'TYPE_ERROR');
    return r;
  } catch (e) {
    if (e instanceof RuleError) {
      const err = new BadInputError(e.message, field, e.reason);
      Object.assign(err.details!, { line: e.line, column: e.column });
      throw err;
    }
    throw e;
  }
}

function longShort(enter: string, exit: string, enterShort: string, exitShort: string, side: PositionSide) {
  return {
    ...(side !== 'SHORT' ? { enterLong: enter, exitLong: exit } : {}),
    ...(side !== 'LONG' ? { enterShort, exitShort } : {}),
  };
}

/**
 * The expressions of a strategy. Every built-in is written in the rule language, so live runs, screeners
 * and backtests share one evaluator:
 * - MACD_VWAP (fast 12, slow 26, signal 9, side BOTH): long when MACD crosses above its signal with the
 *   close above the session VWAP, out when it crosses back below; short mirrored.
 * - SMA_CROSS (fast 10, slow 30, side LONG): long when SMA(fast) crosses above SMA(slow), out on the cross down.
 * - RSI_REVERSION (period 14, lower 30, upper 70, side LONG): long when RSI < lower, out when RSI > upper.
 * - STD_MOMENTUM (period 20, z 1, side LONG): long when the period return exceeds z standard deviations of
 *   one-bar returns over the period, out when the period return turns negative.
 * - RULES: `entry` opens the `side` (LONG by default) and `exit` closes it; with BOTH, entry goes long
 *   (closing a short) and exit goes short (closing a long): always in the market once started.
 */
export function strategyExpressions(kind: StrategyKind, params: Params, rules?: RulesSpec | null): RuleSet['expressions'] {
  switch (kind) {
    case 'MACD_VWAP': {
      const f = intParam(params, 'fast', 12);
      const s = intParam(params, 'slow', 26);
      const g = intParam(params, 'signal', 9);
      if (f >= s) throw new BadInputError('parameters.fast must be shorter than parameters.slow', 'parameters.fast', 'INVALID_PERIOD');
      const m = `macd(close, ${f}, ${s}, ${g})`;
      const sg = `macdSignal(close, ${f}, ${s}, ${g})`;
      return longShort(`crossesAbove(${m}, ${sg}) and close > vwap()`, `crossesBelow(${m}, ${sg})`, `crossesBelow(${m}, ${sg}) and close < vwap()`, `crossesAbove(${m}, ${sg})`, sideParam(params, 'BOTH'));
    }
    case 'SMA_CROSS': {
      const f = intParam(params, 'fast', 10);
      const s = intParam(params, 'slow', 30);
      if (f >= s) throw new BadInputError('parameters.fast must be shorter than parameters.slow', 'parameters.fast', 'INVALID_PERIOD');
      const up = `crossesAbove(sma(close, ${f}), sma(close, ${s}))`;
      const down = `crossesBelow(sma(close, ${f}), sma(close, ${s}))`;
      return longShort(up, down, down, up, sideParam(params, 'LONG'));
    }
    case 'RSI_REVERSION': {
      const p = intParam(params, 'period', 14);
      const lower = numParam(params, 'lower', 30);
      const upper = numParam(params, 'upper', 70);
      if (!(lower > 0 && lower < upper && upper < 100)) throw new BadInputError('parameters need 0 < lower < upper < 100', 'parameters.lower', 'INVALID_RANGE');
      const r = `rsi(close, ${p})`;
      return longShort(`${r} < ${lower}`, `${r} > ${upper}`, `${r} > ${upper}`, `${r} < ${lower}`, sideParam(params, 'LONG'));
    }
    case 'STD_MOMENTUM': {
      const p = intParam(params, 'period', 20);
      const z = numParam(params, 'z', 1);
      if (!(z > 0)) throw new BadInputError('parameters.z must be above 0', 'parameters.z', 'INVALID_NUMBER');
      const score = `returns(close, ${p}) / stddev(returns(close, 1), ${p})`;
      return longShort(`${score} > ${z}`, `returns(close, ${p}) < 0`, `${score} < -${z}`, `returns(close, ${p}) > 0`, sideParam(params, 'LONG'));
    }
    case 'RULES': {
      if (!rules?.entry) throw new BadInputError('RULES strategies need rules.entry', 'rules.entry', 'REQUIRED');
      const side = rules.side ?? 'LONG';
      if (side === 'LONG') return { enterLong: rules.entry, ...(rules.exit ? { exitLong: rules.exit } : {}) };
      if (side === 'SHORT') return { enterShort: rules.entry, ...(rules.exit ? { exitShort: rules.exit } : {}) };
      if (!rules.exit) throw new BadInputError('rules.exit is required when side is BOTH', 'rules.exit', 'REQUIRED');
      return { enterLong: rules.entry, exitShort: rules.entry, enterShort: rules.exit, exitLong: rules.exit };
    }
  }
}

/** Compile a strategy's conditions (BAD_USER_INPUT on rules.entry / rules.exit with line and column). */
export function buildRuleSet(kind: StrategyKind, params: Params, rules?: RulesSpec | null): RuleSet {
  const expressions = strategyExpressions(kind, params, rules);
  const field = (k: keyof RuleSet['expressions']) => {
    if (kind !== 'RULES') return `parameters`;
    return expressions[k] === rules?.exit && rules?.exit !== rules?.entry ? 'rules.exit' : 'rules.entry';
  };
  const set: RuleSet = { warmup: 1, dayAnchored: false, expressions };
  for (const k of ['enterLong', 'exitLong', 'enterShort', 'exitShort'] as const) {
    const src = expressions[k];
    if (src === undefined) continue;
    const compiled = compileField(src, field(k));
    set[k] = compiled;
    set.warmup = Math.max(set.warmup, compiled.warmup);
    set.dayAnchored ||= compiled.dayAnchored;
  }
  return set;
}
