/**
 * `npm run bench:strategies` — the rule evaluator and the backtest engine, in process (no database).
 *
 *   Part 1  a rule strategy (MACD + VWAP + RSI) evaluated incrementally on a new bar over 5,000 symbols
 *           (target ≤ 50 ms a bar), and the heap of that 5,000-symbol live evaluator.
 *   Part 2  incremental (one step per symbol) vs batch (re-running the rule over the symbol's window
 *           of W bars, as a stateless evaluator would) on the same new bar (target ≥ 20×).
 *   Part 3  backtest speed over 1,000,000 one-minute bars of one symbol for SMA_CROSS and MACD_VWAP,
 *           through the same engine the backtest job runs (target ≥ 1,000,000 bars/s on one core).
 *
 * Times are CPU time of this process (user + system), since the shared machine makes wall time mostly
 * waiting for a core; part 1 prints wall time too.
 *
 * Options: --symbols=5000 --window=300 --bars=1000000 --rounds=20. The machine is shared: figures are noisy.
 */
import { performance as perf } from 'node:perf_hooks';
import type { Bar } from '../src/market/history.js';
import { Prng } from '../src/market/prng.js';
import { buildRuleSet } from '../src/strategies/definition.js';
import { SymbolEngine } from '../src/strategies/signal-engine.js';
import { runEngine } from '../src/strategies/backtest/engine.js';

function opt(name: string, dflt: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  return Number(flag?.split('=')[1] ?? dflt);
}
const SYMBOLS = opt('symbols', 5000);
const WINDOW = opt('window', 300);
const BARS = opt('bars', 1_000_000);
const ROUNDS = opt('rounds', 20);

/** A random walk of one-minute bars (deterministic per seed). */
function walk(n: number, seed: number, start = Date.UTC(2024, 0, 1)): Bar[] {
  const rng = new Prng(seed);
  const out: Bar[] = new Array(n);
  let p = 100 + (seed % 50);
  for (let i = 0; i < n; i++) {
    const o = p;
    p = Math.max(1, p * (1 + 0.002 * rng.normal()));
    const hi = Math.max(o, p) * (1 + 0.0005 * rng.next());
    const lo = Math.min(o, p) * (1 - 0.0005 * rng.next());
    out[i] = { time: start + i * 60_000, open: o, high: hi, low: lo, close: p, volume: 100 + Math.floor(rng.next() * 1000) };
  }
  return out;
}

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
const gc = () => (globalThis as { gc?: () => void }).gc?.();
/** CPU time (user + system) of this process since `from`, in ms: on a shared machine, wall time includes waiting for a core. */
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};

const rules = buildRuleSet('RULES', {}, {
  entry: 'crossesAbove(macd(close,12,26,9), macdSignal(close,12,26,9)) and close > vwap() and rsi(close,14) < 70',
  exit: 'crossesBelow(macd(close,12,26,9), macdSignal(close,12,26,9)) or rsi(close,14) > 80',
  side: 'LONG',
});

console.log(`bench:strategies  node ${process.version}  symbols=${SYMBOLS} window=${WINDOW} bars=${BARS}  (shared 2-core machine: noisy)`);

// Part 1: the live evaluator over SYMBOLS symbols.
const history = Array.from({ length: SYMBOLS }, (_, i) => walk(WINDOW + ROUNDS, i + 1));
gc();
const heapBefore = process.memoryUsage().heapUsed;
const engines = history.map((h) => {
  const e = new SymbolEngine(rules);
  for (let k = 0; k < WINDOW; k++) e.next(h[k]!);
  return e;
});
gc();
const heapAfter = process.memoryUsage().heapUsed;
const incremental: number[] = [];
const incCpu: number[] = [];
let actions = 0;
for (let r = 0; r < ROUNDS; r++) {
  const c0 = process.cpuUsage();
  const t0 = perf.now();
  for (let s = 0; s < SYMBOLS; s++) actions += engines[s]!.next(history[s]![WINDOW + r]!).length;
  incremental.push(perf.now() - t0);
  incCpu.push(cpuMs(c0));
}
const incMedian = pct(incCpu, 0.5);
console.log(
  `\n1. new bar over ${SYMBOLS} symbols, incremental: median ${incMedian.toFixed(2)} ms of CPU (wall median ${pct(incremental, 0.5).toFixed(2)} ms, p95 ${pct(incremental, 0.95).toFixed(2)} ms)  (target ≤ 50 ms: ${incMedian <= 50 ? 'met' : 'NOT met'}); ${actions} signals`,
);
console.log(`   live evaluator memory: ${mb(heapAfter - heapBefore)} MB for ${SYMBOLS} symbols (${((heapAfter - heapBefore) / SYMBOLS / 1024).toFixed(1)} KB each)${(globalThis as { gc?: unknown }).gc ? '' : ' (run with --expose-gc for a cleaner figure)'}`);

// Part 2: batch recomputation of the same bar: the rule re-run over each symbol's window.
const batchSymbols = Math.min(SYMBOLS, 500);
const batch: number[] = [];
for (let r = 0; r < 3; r++) {
  const t0 = process.cpuUsage();
  for (let s = 0; s < batchSymbols; s++) {
    const e = new SymbolEngine(rules);
    const h = history[s]!;
    for (let k = r + 1; k <= WINDOW + r; k++) e.next(h[k]!);
  }
  batch.push((cpuMs(t0) * SYMBOLS) / batchSymbols);
}
const batchMedian = pct(batch, 0.5);
const ratio = batchMedian / incMedian;
console.log(`\n2. batch recomputation of that bar (window ${WINDOW}), scaled to ${SYMBOLS} symbols from ${batchSymbols}: ${batchMedian.toFixed(1)} ms of CPU  → incremental is ${ratio.toFixed(0)}× faster (target ≥ 20×: ${ratio >= 20 ? 'met' : 'NOT met'})`);

// Part 3: backtests over BARS bars of one symbol.
const bars = walk(BARS, 4242);
console.log(`\n3. backtest over ${BARS.toLocaleString('en')} bars of one symbol (one core):`);
for (const [name, set] of [
  ['SMA_CROSS(10, 30)', buildRuleSet('SMA_CROSS', { fast: 10, slow: 30 })],
  ['MACD_VWAP(12, 26, 9)', buildRuleSet('MACD_VWAP', {})],
] as const) {
  const runs: number[] = [];
  let trades = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.cpuUsage();
    const res = await runEngine([{ symbol: 'X', instrumentId: 'x', lot: '1', warmup: [], bars }], { rules: set, sizing: { percentOfEquity: '50' }, initialCash: '1000000', feeRate: '0.0005', slippageBps: 2 });
    runs.push(cpuMs(t0));
    trades = res!.trades.length;
  }
  const best = Math.min(...runs);
  const rate = BARS / (best / 1000);
  console.log(`   ${name.padEnd(22)} best of 3 ${best.toFixed(0)} ms of CPU = ${(rate / 1e6).toFixed(2)} M bars/s, ${trades} trades  (target ≥ 1 M bars/s: ${rate >= 1e6 ? 'met' : 'NOT met'})`);
}
