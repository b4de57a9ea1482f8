import type { Bar } from '../../market/history.js';
import { Atr, Bollinger, Ema, Macd, Returns, Rsi, Sma, StdDev, Vwap, type SeriesIndicator } from '../indicators/incremental.js';
import type { Node, ValueType } from './ast.js';
import { anchoredToDay, callParams, check, lookback, normalize } from './check.js';
import { parse } from './parser.js';

/** One step of a compiled rule: the newest bar in, the rule's value for it out (null while warming up). */
type Step = (bar: Bar) => number | null;

/**
 * A compiled rule: each `create()` gives a fresh evaluator with its own indicator state, fed one closed
 * bar at a time, O(number of terms) per bar. The same compiled rule serves live runs, screeners,
 * `indicator` and backtests. Conditions evaluate to 1 (true), 0 (false) or null (not known yet).
 */
export interface CompiledRule {
  source: string;
  normalized: string;
  type: ValueType;
  /** Bars to replay before the rule's value can be trusted (see `lookback`). */
  warmup: number;
  /** Whether the warm-up must also start at the UTC day of its first bar (the rule uses `vwap`). */
  dayAnchored: boolean;
  /**
   * A fresh evaluator. Evaluators created with the same `shared` map share identical sub-expressions
   * (one MACD for `macd(...)` and `macdSignal(...)` of a strategy's entry and exit rules), each computed
   * once per bar.
   */
  create(shared?: Map<string, unknown>): RuleEvaluator;
}

export interface RuleEvaluator {
  next(bar: Bar): number | null;
}

/** Parse, check and compile. Throws `RuleError` with line and column. */
export function compileRule(source: string): CompiledRule {
  const ast = parse(source);
  const type = check(ast);
  return { source, normalized: normalize(ast), type, warmup: lookback(ast), dayAnchored: anchoredToDay(ast), create: (shared) => ({ next: build(ast, shared ?? new Map()) }) };
}

const truthy = (v: number | null) => v !== null && v !== 0;

function seriesIndicator(name: string, ps: number[]): SeriesIndicator {
  switch (name) {
    case 'sma':
      return new Sma(ps[0]!);
    case 'ema':
      return new Ema(ps[0]!);
    case 'rsi':
      return new Rsi(ps[0]!);
    case 'stddev':
      return new StdDev(ps[0]!);
    case 'returns':
      return new Returns(ps[0]!);
    case 'macd':
      return new Macd(ps[0]!, ps[1]!, ps[2]!, 'line');
    case 'macdSignal':
      return new Macd(ps[0]!, ps[1]!, ps[2]!, 'signal');
    case 'macdHist':
      return new Macd(ps[0]!, ps[1]!, ps[2]!, 'hist');
    case 'bbUpper':
      return new Bollinger(ps[0]!, ps[1]!, 'upper');
    case 'bbMiddle':
      return new Bollinger(ps[0]!, ps[1]!, 'middle');
    case 'bbLower':
      return new Bollinger(ps[0]!, ps[1]!, 'lower');
    default:
      throw new Error(`no indicator ${name}`);
  }
}

/** Compute once per bar: a shared node called again for the same bar returns its first answer. */
function memo(step: Step): Step {
  let lastBar: Bar | undefined;
  let last: number | null = null;
  return (b) => {
    if (b === lastBar) return last;
    lastBar = b;
    last = step(b);
    return last;
  };
}

/**
 * Build the step function of a checked AST. Every node runs on every bar (indicators must see each one).
 * Indicator calls and look-backs are shared through `shared` by their canonical text, memoised per bar.
 */
function build(n: Node, shared: Map<string, unknown>): Step {
  if (n.kind === 'call' || n.kind === 'offset') {
    const key = normalize(n);
    const hit = shared.get(key) as Step | undefined;
    if (hit) return hit;
    const step = memo(buildNode(n, shared));
    shared.set(key, step);
    return step;
  }
  return buildNode(n, shared);
}

/** One MACD per (source, periods) and strategy: line and signal of the current bar. */
function macdCore(src: Step, ps: number[], key: string, shared: Map<string, unknown>): (b: Bar) => { line: number | null; signal: number | null } {
  const hit = shared.get(key) as ((b: Bar) => { line: number | null; signal: number | null }) | undefined;
  if (hit) return hit;
  const fast = new Ema(ps[0]!);
  const slow = new Ema(ps[1]!);
  const sig = new Ema(ps[2]!);
  const out = { line: null as number | null, signal: null as number | null };
  let lastBar: Bar | undefined;
  const step = (b: Bar) => {
    if (b === lastBar) return out;
    lastBar = b;
    const x = src(b);
    const f = x === null ? null : fast.next(x);
    const s = x === null ? null : slow.next(x);
    if (f === null || s === null) {
      out.line = null;
      out.signal = null;
    } else {
      out.line = f - s;
      out.signal = sig.next(out.line);
    }
    return out;
  };
  shared.set(key, step);
  return step;
}

function buildNode(n: Node, shared: Map<string, unknown>): Step {
  const build_ = (c: Node) => build(c, shared);
  switch (n.kind) {
    case 'num': {
      const v = n.value;
      return () => v;
    }
    case 'field': {
      const f = n.name;
      return (b) => b[f];
    }
    case 'neg': {
      const a = build_(n.arg);
      return (b) => {
        const v = a(b);
        return v === null ? null : -v;
      };
    }
    case 'not': {
      const a = build_(n.arg);
      return (b) => {
        const v = a(b);
        return v === null ? null : v === 0 ? 1 : 0;
      };
    }
    case 'arith': {
      const l = build_(n.left);
      const r = build_(n.right);
      switch (n.op) {
        case '+':
          return (b) => {
            const x = l(b);
            const y = r(b);
            return x === null || y === null ? null : x + y;
          };
        case '-':
          return (b) => {
            const x = l(b);
            const y = r(b);
            return x === null || y === null ? null : x - y;
          };
        case '*':
          return (b) => {
            const x = l(b);
            const y = r(b);
            return x === null || y === null ? null : x * y;
          };
        case '/':
          return (b) => {
            const x = l(b);
            const y = r(b);
            return x === null || y === null || y === 0 ? null : x / y;
          };
      }
      break;
    }
    case 'compare': {
      const l = build_(n.left);
      const r = build_(n.right);
      const cmp: (x: number, y: number) => boolean =
        n.op === '<' ? (x, y) => x < y : n.op === '<=' ? (x, y) => x <= y : n.op === '>' ? (x, y) => x > y : n.op === '>=' ? (x, y) => x >= y : n.op === '==' ? (x, y) => x === y : (x, y) => x !== y;
      return (b) => {
        const x = l(b);
        const y = r(b);
        return x === null || y === null ? null : cmp(x, y) ? 1 : 0;
      };
    }
    case 'logic': {
      const l = build_(n.left);
      const r = build_(n.right);
      // Both sides always run (their indicators must see every bar); an unknown side counts as false.
      return n.op === 'and'
        ? (b) => {
            const x = l(b);
            const y = r(b);
            return truthy(x) && truthy(y) ? 1 : 0;
          }
        : (b) => {
            const x = l(b);
            const y = r(b);
            return truthy(x) || truthy(y) ? 1 : 0;
          };
    }
    case 'offset': {
      const a = build_(n.arg);
      const k = n.bars;
      const ring: (number | null)[] = new Array(k + 1).fill(null);
      let i = 0;
      let seen = 0;
      return (b) => {
        ring[i] = a(b);
        const at = (i - k + ring.length * 2) % ring.length;
        i = (i + 1) % ring.length;
        seen++;
        return seen > k ? ring[at]! : null;
      };
    }
    case 'call': {
      if (n.name === 'crossesAbove' || n.name === 'crossesBelow') {
        const a = build_(n.args[0]!);
        const c = build_(n.args[1]!);
        const above = n.name === 'crossesAbove';
        let pa: number | null = null;
        let pc: number | null = null;
        // crossesAbove(a, b) = a[1] <= b[1] and a > b (crossesBelow mirrors it).
        return (b) => {
          const x = a(b);
          const y = c(b);
          const r = x === null || y === null || pa === null || pc === null ? 0 : above ? (pa <= pc && x > y ? 1 : 0) : pa >= pc && x < y ? 1 : 0;
          pa = x;
          pc = y;
          return r;
        };
      }
      const ps = callParams(n);
      if (n.name === 'vwap') {
        const ind = new Vwap();
        return (b) => ind.next(b);
      }
      if (n.name === 'atr') {
        const ind = new Atr(ps[0]!);
        return (b) => ind.next(b);
      }
      const src = build_(n.args[0]!);
      if (n.name === 'macd' || n.name === 'macdSignal' || n.name === 'macdHist') {
        const core = macdCore(src, ps, `macd|${normalize(n.args[0]!)}|${ps.join(',')}`, shared);
        if (n.name === 'macd') return (b) => core(b).line;
        if (n.name === 'macdSignal') return (b) => core(b).signal;
        return (b) => {
          const c = core(b);
          return c.line === null || c.signal === null ? null : c.line - c.signal;
        };
      }
      const ind = seriesIndicator(n.name, ps);
      return (b) => ind.next(src(b));
    }
  }
  throw new Error('unreachable');
}

/** Evaluate a compiled rule over bars (oldest first): the batch form, value per bar. */
export function evaluateSeries(rule: CompiledRule, bars: readonly Bar[]): (number | null)[] {
  const ev = rule.create();
  const out = new Array<number | null>(bars.length);
  for (let i = 0; i < bars.length; i++) out[i] = ev.next(bars[i]!);
  return out;
}
