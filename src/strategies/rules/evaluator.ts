import type { Bar } from '../../market/history.js';
import { Atr, Bollinger, Ema, Macd, Returns, Rsi, Sma, StdDev, Vwap, type SeriesIndicator } from '../indicators/incremental.js';
import type { Node, ValueType } from './ast.js';
import { callParams, check, lookback, normalize } from './check.js';
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
  create(): RuleEvaluator;
}

export interface RuleEvaluator {
  next(bar: Bar): number | null;
}

/** Parse, check and compile. Throws `RuleError` with line and column. */
export function compileRule(source: string): CompiledRule {
  const ast = parse(source);
  const type = check(ast);
  return { source, normalized: normalize(ast), type, warmup: lookback(ast), create: () => ({ next: build(ast) }) };
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

/** Build the step function of a checked AST. Every node runs on every bar (indicators must see each one). */
function build(n: Node): Step {
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
      const a = build(n.arg);
      return (b) => {
        const v = a(b);
        return v === null ? null : -v;
      };
    }
    case 'not': {
      const a = build(n.arg);
      return (b) => {
        const v = a(b);
        return v === null ? null : v === 0 ? 1 : 0;
      };
    }
    case 'arith': {
      const l = build(n.left);
      const r = build(n.right);
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
      const l = build(n.left);
      const r = build(n.right);
      const cmp: (x: number, y: number) => boolean =
        n.op === '<' ? (x, y) => x < y : n.op === '<=' ? (x, y) => x <= y : n.op === '>' ? (x, y) => x > y : n.op === '>=' ? (x, y) => x >= y : n.op === '==' ? (x, y) => x === y : (x, y) => x !== y;
      return (b) => {
        const x = l(b);
        const y = r(b);
        return x === null || y === null ? null : cmp(x, y) ? 1 : 0;
      };
    }
    case 'logic': {
      const l = build(n.left);
      const r = build(n.right);
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
      const a = build(n.arg);
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
        const a = build(n.args[0]!);
        const c = build(n.args[1]!);
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
      const src = build(n.args[0]!);
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
