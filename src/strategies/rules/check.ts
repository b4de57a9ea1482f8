import { RuleError, type Node, type ValueType } from './ast.js';

/** Largest period any indicator accepts: beyond it a rule is refused (it would never warm up on real data). */
export const MAX_PERIOD = 5000;

interface Signature {
  /** Whether the first argument is a source series (else every argument is a period). */
  source: boolean;
  /** Default values of the numeric parameters after the source, in order; `required` of them must be given. */
  params: number[];
  required: number;
  /** Which parameters must be whole periods ≥ 1 (the others are positive multipliers). */
  periods: boolean[];
}

/** The indicator table: names, arity and defaults. */
export const INDICATORS: Record<string, Signature> = {
  sma: { source: true, params: [0], required: 1, periods: [true] },
  ema: { source: true, params: [0], required: 1, periods: [true] },
  rsi: { source: true, params: [14], required: 0, periods: [true] },
  stddev: { source: true, params: [0], required: 1, periods: [true] },
  returns: { source: true, params: [1], required: 0, periods: [true] },
  macd: { source: true, params: [12, 26, 9], required: 0, periods: [true, true, true] },
  macdSignal: { source: true, params: [12, 26, 9], required: 0, periods: [true, true, true] },
  macdHist: { source: true, params: [12, 26, 9], required: 0, periods: [true, true, true] },
  bbUpper: { source: true, params: [20, 2], required: 0, periods: [true, false] },
  bbMiddle: { source: true, params: [20, 2], required: 0, periods: [true, false] },
  bbLower: { source: true, params: [20, 2], required: 0, periods: [true, false] },
  atr: { source: false, params: [14], required: 0, periods: [true] },
  vwap: { source: false, params: [], required: 0, periods: [] },
  crossesAbove: { source: false, params: [], required: 0, periods: [] },
  crossesBelow: { source: false, params: [], required: 0, periods: [] },
};

/** A call with its parameters resolved (defaults filled in). */
export function callParams(n: Extract<Node, { kind: 'call' }>): number[] {
  const sig = INDICATORS[n.name]!;
  const given = n.args.slice(sig.source ? 1 : 0).map((a) => (a.kind === 'num' ? a.value : NaN));
  return sig.params.map((d, i) => given[i] ?? d);
}

const usage = (name: string): string => {
  const sig = INDICATORS[name]!;
  if (name.startsWith('crosses')) return `${name}(a, b)`;
  const names = name.startsWith('macd') ? ['fast', 'slow', 'signal'] : name.startsWith('bb') ? ['period', 'k'] : ['period'];
  const ps = sig.params.map((_, i) => (i < sig.required ? names[i] : `${names[i]}?`));
  return `${name}(${[...(sig.source ? ['source'] : []), ...ps].join(', ')})`;
};

/**
 * Type-check a parsed rule: indicator names and arity, constant periods within bounds, numbers where
 * numbers go and conditions where conditions go. Returns the rule's type.
 */
export function check(n: Node): ValueType {
  const err = (msg: string, at: Node, reason: RuleError['reason'] = 'TYPE_ERROR'): never => {
    throw new RuleError(msg, at.pos.line, at.pos.column, reason);
  };
  const want = (child: Node, t: ValueType, ctx: string) => {
    const got = check(child);
    if (got !== t) err(`${ctx} needs ${t === 'number' ? 'a number' : 'a condition'}, got ${got === 'number' ? 'a number' : 'a condition'}`, child);
  };
  switch (n.kind) {
    case 'num':
    case 'field':
      return 'number';
    case 'neg':
      want(n.arg, 'number', "'-'");
      return 'number';
    case 'not':
      want(n.arg, 'boolean', "'not'");
      return 'boolean';
    case 'arith':
      want(n.left, 'number', `'${n.op}'`);
      want(n.right, 'number', `'${n.op}'`);
      return 'number';
    case 'compare':
      want(n.left, 'number', `'${n.op}'`);
      want(n.right, 'number', `'${n.op}'`);
      return 'boolean';
    case 'logic':
      want(n.left, 'boolean', `'${n.op}'`);
      want(n.right, 'boolean', `'${n.op}'`);
      return 'boolean';
    case 'offset':
      return check(n.arg);
    case 'call': {
      const sig = INDICATORS[n.name];
      if (!sig) return err(`Unknown indicator '${n.name}' (known: ${Object.keys(INDICATORS).join(', ')})`, n, 'UNKNOWN_INDICATOR');
      if (n.name === 'crossesAbove' || n.name === 'crossesBelow') {
        if (n.args.length !== 2) err(`${n.name} takes 2 arguments, got ${n.args.length}: ${usage(n.name)}`, n, 'WRONG_ARITY');
        want(n.args[0]!, 'number', n.name);
        want(n.args[1]!, 'number', n.name);
        return 'boolean';
      }
      const min = (sig.source ? 1 : 0) + sig.required;
      const max = (sig.source ? 1 : 0) + sig.params.length;
      if (n.args.length < min || n.args.length > max) {
        const range = min === max ? `${min}` : `${min} to ${max}`;
        err(`${n.name} takes ${range} argument${max === 1 ? '' : 's'}, got ${n.args.length}: ${usage(n.name)}`, n, 'WRONG_ARITY');
      }
      if (sig.source) want(n.args[0]!, 'number', `${n.name}'s source`);
      n.args.slice(sig.source ? 1 : 0).forEach((a, i) => {
        const value = a.kind === 'num' ? a.value : a.kind === 'neg' && a.arg.kind === 'num' ? -a.arg.value : NaN;
        if (Number.isNaN(value)) err(`${n.name}'s parameters must be plain numbers`, a, 'INVALID_PERIOD');
        if (sig.periods[i]) {
          if (!Number.isInteger(value) || value <= 0) err(`${n.name}'s period must be a whole number of at least 1, got ${value}`, a, 'INVALID_PERIOD');
          if (value > MAX_PERIOD) err(`${n.name}'s period ${value} is more than ${MAX_PERIOD}`, a, 'PERIOD_TOO_LARGE');
        } else if (!(value > 0) || value > 100) err(`${n.name}'s multiplier must be above 0 and at most 100, got ${value}`, a, 'INVALID_PERIOD');
      });
      if (n.name.startsWith('macd')) {
        const [f, s] = callParams(n);
        if (f! >= s!) err(`${n.name}'s fast period must be shorter than its slow period`, n, 'INVALID_PERIOD');
      }
      return 'number';
    }
  }
}

/**
 * Bars a rule needs before it can be true: the warm-up of its deepest indicator chain plus look-backs.
 * EMAs (and so MACD) are counted ten times their period, Wilder's averages (RSI, ATR) twenty-five times
 * (their weight on the seed decays more slowly), so seeded values have converged to about 1e-9.
 */
export function lookback(n: Node): number {
  switch (n.kind) {
    case 'num':
    case 'field':
      return 1;
    case 'neg':
    case 'not':
      return lookback(n.arg);
    case 'arith':
    case 'compare':
    case 'logic':
      return Math.max(lookback(n.left), lookback(n.right));
    case 'offset':
      return lookback(n.arg) + n.bars;
    case 'call': {
      const inner = n.args.length && INDICATORS[n.name]!.source ? lookback(n.args[0]!) : 1;
      const ps = callParams(n);
      switch (n.name) {
        case 'crossesAbove':
        case 'crossesBelow':
          return Math.max(lookback(n.args[0]!), lookback(n.args[1]!)) + 1;
        case 'ema':
          return inner + 10 * ps[0]!;
        case 'rsi':
        case 'atr':
          // Wilder's smoothing keeps (1 − 1/period) of the seed per bar: 25 periods leave e^-25 of it.
          return inner + 25 * ps[0]!;
        case 'macd':
        case 'macdSignal':
        case 'macdHist':
          return inner + 10 * ps[1]! + 10 * ps[2]!;
        case 'vwap':
          return 1;
        default:
          return inner + ps[0]!;
      }
    }
  }
}

/**
 * Whether a rule reads a value anchored to the UTC day (`vwap`): its warm-up must then also reach back to
 * the start of the UTC day of its first warm-up bar, whatever `lookback` counts.
 */
export function anchoredToDay(n: Node): boolean {
  switch (n.kind) {
    case 'num':
    case 'field':
      return false;
    case 'neg':
    case 'not':
    case 'offset':
      return anchoredToDay(n.arg);
    case 'arith':
    case 'compare':
    case 'logic':
      return anchoredToDay(n.left) || anchoredToDay(n.right);
    case 'call':
      return n.name === 'vwap' || n.args.some(anchoredToDay);
  }
}

/** The rule printed in one canonical form (fully parenthesised binary operations, defaults left as written). */
export function normalize(n: Node): string {
  switch (n.kind) {
    case 'num':
      return String(n.value);
    case 'field':
      return n.name;
    case 'neg':
      return `-${normalize(n.arg)}`;
    case 'not':
      return `not ${normalize(n.arg)}`;
    case 'arith':
    case 'compare':
    case 'logic':
      return `(${normalize(n.left)} ${n.op} ${normalize(n.right)})`;
    case 'offset':
      return `${normalize(n.arg)}[${n.bars}]`;
    case 'call':
      return `${n.name}(${n.args.map(normalize).join(', ')})`;
  }
}
