/**
 * `npm run bench:subscribers` — live fan-out on ONE api process of the scaled mode (api and worker in
 * separate processes on Postgres + Redis): Q graphql-ws subscribers of `quotes(symbols: [s])` spread over
 * S symbols, and F subscribers of `fillReceived(portfolioId)` while orders are placed at R/s.
 *
 * Measured per phase (a baseline of Q/10 + F/10 first, then the full load, in the same run):
 *   - tick-to-client latency: receive time at the client minus the quote's own `timestamp` (set by the
 *     worker's market feed when it ticks), p50/p99 — same machine, same clock;
 *   - quotes delivered vs expected: every socket should receive every tick of its symbol published in the
 *     window (the union of what any socket of that symbol saw); the difference is lost or still queued;
 *   - fills delivered vs expected (orders filled × subscribers of that portfolio), mutation → client p50/p99;
 *   - RSS of the api process (peak during the phase) and its CPU share.
 *
 * The load generator is N child processes of raw `ws` clients speaking graphql-transport-ws
 * (bench/lib/sub-load.ts), ~2,500 sockets each. 11,000 sockets need `ulimit -n` above 11,000 for the api:
 * the npm script runs through bench/ulimit.sh, which raises the soft limit to the hard one.
 *
 *   - api CPU per delivered message (µs): the server's cost per frame, the figure least distorted by other
 *     load on a shared machine (latency is not: a starved api or load generator shows up as latency).
 *
 * Options: --quotes=10000 --fills=1000 --symbols=50 --users=20 --duration=20 --tick-ms=1000
 *          --orders-per-s=5 --runtime=dist|tsx --no-build --no-baseline
 *          --synchronised-ticks (MARKET_TICK_SPREAD=false: every symbol ticks in the same instant, one burst
 *            of ~Q frames per tick, as the simulator did before; default: each symbol at its own phase)
 *   - per-tick burst timing on the api (its quote_fanout_burst metric over the last 10 s of the window):
 *     lag (tick → the api's fan-out) and drain (the api's first to last frame written for that tick).
 *          --cpu-prof (api and worker write V8 CPU profiles; the api's hottest functions are printed)
 */
import 'reflect-metadata';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireEnv } from './lib/infra.js';
import { buildDist, type Runtime } from './lib/processes.js';
import { GraphqlPath } from './lib/graphql-path.js';
import { openSql } from './lib/verify.js';
import { ms, sleep, summarize, table } from './lib/stats.js';
import { summarizeProfile } from './lib/profile-summary.js';
import type { ChildReport, ParentMessage, SubSpec } from './lib/sub-load.js';

const TARGET_P99_MS = 250;
const TARGET_RSS_MB = 1536;
const PER_CHILD = 2500;
const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The api runs as in production, where /metrics needs a token. */
const METRICS_TOKEN = 'bench-subscribers-metrics-token-0';

/** The api's quote_fanout_burst gauges (per-tick lag and drain over the last 10 s). */
async function burstStats(apiUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^quote_fanout_burst\{[^}]*stat="(\w+)"[^}]*\} (\S+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

function option(argv: string[], name: string, dflt: string): string {
  const hit = argv.find((a) => a.startsWith(`--${name}=`));
  if (hit) return hit.slice(name.length + 3);
  return argv.includes(`--${name}`) ? 'true' : dflt;
}

function procStat(pid: number): { rssMb: number; cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100/s)
  return { rssMb: rssKb / 1024, cpuMs: ticks * 10 };
}

class LoadChild {
  private readonly child: ChildProcess;
  private waiting = new Map<string, (m: Record<string, unknown>) => void>();
  constructor() {
    this.child = fork(path.join(HERE, 'lib/sub-load.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: Record<string, unknown>) => {
      if (m.kind === 'failed') console.error('load child failed:', m.message);
      const w = this.waiting.get(String(m.kind));
      this.waiting.delete(String(m.kind));
      w?.(m);
    });
  }
  ask<T extends Record<string, unknown>>(m: ParentMessage, reply: string): Promise<T> {
    return new Promise((resolve) => {
      this.waiting.set(reply, resolve as (m: Record<string, unknown>) => void);
      this.child.send(m);
    });
  }
  async close(): Promise<void> {
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.send({ kind: 'close' } satisfies ParentMessage);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
}

interface PhaseResult {
  label: string;
  quotes: number;
  fills: number;
  quoteLat: ReturnType<typeof summarize>;
  quoteDelivered: number;
  quoteExpected: number;
  duplicates: number;
  fillLat: ReturnType<typeof summarize>;
  fillDelivered: number;
  fillExpected: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  apiCpu: number;
  /** api CPU µs per delivered message (quotes + fills) over the window */
  cpuPerMessageUs: number;
  openS: number;
  /** The api's per-tick timing at the window's end (ms): lag p50/p99, drain p50/p99/max, deliveries per tick. */
  bursts: Record<string, number>;
  errors: string[];
}

async function phase(
  g: GraphqlPath,
  label: string,
  o: { quotes: number; fills: number; symbols: string[]; durationMs: number; ordersPerS: number; tag: string },
): Promise<PhaseResult> {
  const accounts = g.accountList;
  const specs: SubSpec[] = [];
  for (let i = 0; i < o.quotes; i++) specs.push({ token: accounts[i % accounts.length].token, kind: 'quote', symbol: o.symbols[i % o.symbols.length] });
  const fillSubsByPortfolio = new Map<string, number>();
  for (let i = 0; i < o.fills; i++) {
    const a = accounts[i % accounts.length];
    specs.push({ token: a.token, kind: 'fill', portfolioId: a.portfolioId });
    fillSubsByPortfolio.set(a.portfolioId, (fillSubsByPortfolio.get(a.portfolioId) ?? 0) + 1);
  }
  const rssBefore = procStat(g.api.pid).rssMb;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, procStat(g.api.pid).rssMb)), 250);
  const nChildren = Math.max(1, Math.ceil(specs.length / PER_CHILD));
  const children = Array.from({ length: nChildren }, () => new LoadChild());
  const wsUrl = `${g.url.replace(/^http/, 'ws')}/graphql`;
  const t0 = performance.now();
  try {
    await Promise.all(
      children.map((c, k) => c.ask({ kind: 'open', wsUrl, subs: specs.filter((_, i) => i % nChildren === k), parallel: 50 }, 'opened')),
    );
    const openS = (performance.now() - t0) / 1000;
    console.log(`  ${label}: ${specs.length} sockets open and subscribed in ${openS.toFixed(1)} s (${nChildren} load processes)`);
    await sleep(2000); // let the current quotes sent at subscribe drain
    const from = Date.now() + 500;
    const to = from + o.durationMs;
    await Promise.all(children.map((c) => c.ask({ kind: 'window', from, to }, 'windowed')));
    const cpu0 = procStat(g.api.pid).cpuMs;
    await sleep(Math.max(0, from - Date.now()));
    // Orders during the window, round-robin over the portfolios, each filled by the paper broker.
    const placed = new Map<string, { at: number; portfolioId: string }>();
    let seq = 0;
    const placing: Promise<void>[] = [];
    while (Date.now() < to) {
      const idx = seq % accounts.length;
      const id = `${o.tag}${seq++}`;
      const at = Date.now();
      placing.push(
        g.place(idx, id).then((r) => {
          if (r.ok) placed.set(id, { at, portfolioId: accounts[idx].portfolioId });
        }),
      );
      await sleep(1000 / o.ordersPerS);
    }
    await Promise.all(placing);
    const bursts = await burstStats(g.url).catch(() => ({}) as Record<string, number>);
    const windowCpuMs = procStat(g.api.pid).cpuMs - cpu0;
    const apiCpu = windowCpuMs / (Date.now() - from);
    await sleep(5000); // grace: what arrives within 5 s of the window's end still counts as delivered
    const reports = (await Promise.all(children.map((c) => c.ask<{ report: ChildReport }>({ kind: 'report' }, 'report')))).map((r) => r.report);

    const union = new Map<string, Set<number>>();
    for (const r of reports) for (const [s, ts] of Object.entries(r.ticksBySymbol)) for (const t of ts) (union.get(s) ?? union.set(s, new Set()).get(s)!).add(t);
    let quoteExpected = 0;
    let quoteDelivered = 0;
    for (const r of reports)
      for (const c of r.quoteCounts) {
        quoteExpected += union.get(c.symbol)?.size ?? 0;
        quoteDelivered += c.n;
      }
    const fillLat: number[] = [];
    let fillDelivered = 0;
    for (const r of reports)
      for (const [id, at] of r.fills) {
        const p = placed.get(id);
        if (!p) continue;
        fillDelivered++;
        fillLat.push(at - p.at);
      }
    let fillExpected = 0;
    for (const p of placed.values()) fillExpected += fillSubsByPortfolio.get(p.portfolioId) ?? 0;
    const result: PhaseResult = {
      label,
      quotes: o.quotes,
      fills: o.fills,
      quoteLat: summarize(reports.flatMap((r) => r.quoteLatencies)),
      quoteDelivered,
      quoteExpected,
      duplicates: reports.reduce((a, r) => a + r.duplicates, 0),
      fillLat: summarize(fillLat),
      fillDelivered,
      fillExpected,
      rssBeforeMb: rssBefore,
      rssPeakMb: rssPeak,
      apiCpu,
      cpuPerMessageUs: (windowCpuMs * 1000) / Math.max(1, quoteDelivered + fillDelivered),
      openS,
      bursts,
      errors: reports.flatMap((r) => r.errors).slice(0, 10),
    };
    console.log(
      `  ${label}: tick p50 ${ms(result.quoteLat.p50)} p99 ${ms(result.quoteLat.p99)}, quotes ${quoteDelivered}/${quoteExpected}, ` +
        `fills ${fillDelivered}/${fillExpected} (p99 ${ms(result.fillLat.p99)}), api RSS peak ${rssPeak.toFixed(0)} MB, api CPU ${(apiCpu * 100).toFixed(0)}% (${result.cpuPerMessageUs.toFixed(0)} µs/message)`,
    );
    const b = bursts;
    console.log(
      `  ${label}: api per tick (last 10 s): ${b.bursts ?? 0} ticks, ${(b.deliveriesPerBurst ?? 0).toFixed(0)} frames each; lag p50 ${ms(b.lagP50 ?? 0)} p99 ${ms(b.lagP99 ?? 0)}; ` +
        `drain p50 ${ms(b.drainP50 ?? 0)} p99 ${ms(b.drainP99 ?? 0)} max ${ms(b.drainMax ?? 0)}; ${(b.busyUsPerDelivery ?? 0).toFixed(1)} µs per frame inside delivery`,
    );
    return result;
  } finally {
    clearInterval(sampler);
    await Promise.all(children.map((c) => c.close()));
  }
}

async function main(): Promise<void> {
  const env = requireEnv();
  const argv = process.argv.slice(2);
  const quotes = Number(option(argv, 'quotes', '10000'));
  const fills = Number(option(argv, 'fills', '1000'));
  const nSymbols = Number(option(argv, 'symbols', '50'));
  const users = Number(option(argv, 'users', '20'));
  const durationMs = Number(option(argv, 'duration', process.env.BENCH_DURATION_S ?? '20')) * 1000;
  const tickMs = Number(option(argv, 'tick-ms', '1000'));
  const ordersPerS = Number(option(argv, 'orders-per-s', '5'));
  const runtime = option(argv, 'runtime', 'dist') as Runtime;
  const baseline = !argv.includes('--no-baseline');
  const cpuProf = argv.includes('--cpu-prof');
  const synchronised = argv.includes('--synchronised-ticks');
  const profDir = path.join(HERE, '..', 'data', 'bench-subscribers-prof');
  if (cpuProf) rmSync(profDir, { recursive: true, force: true });
  if (runtime === 'dist' && !argv.includes('--no-build')) buildDist();
  console.log(
    `bench:subscribers — ${quotes} quote + ${fills} fill subscribers on one api, ${nSymbols} symbols, tick ${tickMs} ms, ${ordersPerS} orders/s, ${durationMs / 1000} s window, runtime ${runtime}, ticks ${synchronised ? 'synchronised (every symbol in the same instant)' : 'spread over the interval (each symbol at its own phase)'}`,
  );
  const g = new GraphqlPath(env, {
    runtime,
    users,
    workerConcurrency: 16,
    poolSize: 10,
    tickMs,
    nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
    logLevel: 'warn',
    // Caps stay on; raised so one bench user may hold its share of 11,000 subscriptions.
    extraEnv: {
      MAX_SUBSCRIPTIONS_PER_USER: String(Math.ceil((quotes + fills) / users) + 50),
      METRICS_TOKEN,
      MARKET_TICK_SPREAD: synchronised ? 'false' : 'true',
    },
  });
  let failed = false;
  try {
    await g.start(64);
    await g.setUp();
    const db = openSql(g.db.url);
    const symbols = (
      await db<{ k: string }[]>`select exchange || ':' || symbol as k from instruments where tradable order by exchange, symbol limit ${nSymbols}`
    ).map((r) => r.k);
    await db.end();
    const results: PhaseResult[] = [];
    if (baseline) {
      results.push(await phase(g, 'baseline', { quotes: Math.round(quotes / 10), fills: Math.round(fills / 10), symbols, durationMs, ordersPerS, tag: 'b-' }));
      await sleep(3000);
    }
    results.push(await phase(g, 'full', { quotes, fills, symbols, durationMs, ordersPerS, tag: 'f-' }));
    const base = results[0];
    const rows = results.map((r) => [
      `${r.label} (${r.quotes} + ${r.fills})`,
      ms(r.quoteLat.p50),
      ms(r.quoteLat.p99),
      `${r.quoteDelivered}/${r.quoteExpected}`,
      String(r.duplicates),
      ms(r.fillLat.p50),
      ms(r.fillLat.p99),
      `${r.fillDelivered}/${r.fillExpected}`,
      `${r.rssBeforeMb.toFixed(0)} → ${r.rssPeakMb.toFixed(0)} MB`,
      `${(r.apiCpu * 100).toFixed(0)}%`,
      `${r.cpuPerMessageUs.toFixed(0)} µs`,
      `${ms(r.bursts.drainP50 ?? 0)} / ${ms(r.bursts.drainP99 ?? 0)}`,
      (r.quoteLat.p99 / base.quoteLat.p99).toFixed(2),
    ]);
    const full = results[results.length - 1];
    const lost = full.quoteExpected - full.quoteDelivered + (full.fillExpected - full.fillDelivered);
    console.log(
      [
        '',
        '=== bench:subscribers ===',
        table(['phase (quote + fill subs)', 'tick p50', 'tick p99', 'quotes recv/expected', 'dups', 'fill p50', 'fill p99', 'fills recv/expected', 'api RSS', 'api CPU', 'api CPU/msg', 'api drain/tick p50 / p99', 'p99 vs baseline'], rows),
        '',
        `target p99 tick-to-client <= ${TARGET_P99_MS} ms: ${full.quoteLat.p99 <= TARGET_P99_MS ? 'PASS' : 'MISS'} (${ms(full.quoteLat.p99)})`,
        `target api RSS <= ${TARGET_RSS_MB} MB: ${full.rssPeakMb <= TARGET_RSS_MB ? 'PASS' : 'MISS'} (${full.rssPeakMb.toFixed(0)} MB peak)`,
        `messages not delivered within 5 s of the window: ${lost}${lost === 0 ? ' (none lost or queued)' : ''}`,
        ...(results.flatMap((r) => r.errors).length ? ['client errors (first 10):', ...results.flatMap((r) => r.errors).slice(0, 10)] : []),
        '',
        'Latency = client receive time − the quote\'s timestamp (worker clock, same machine); fill latency = mutation sent → fillReceived.',
        'The load generators run on the same 2 shared cores as api, worker, Postgres and Redis: the figures bound the server from above.',
      ].join('\n'),
    );
  } catch (err) {
    failed = true;
    console.error(err);
  } finally {
    const apiPid = g.api?.pid;
    await g.stop();
    await g.cleanUp().catch((err: unknown) => console.error('cleanup failed:', err));
    if (cpuProf && existsSync(profDir)) {
      for (const f of readdirSync(profDir).filter((f) => f.includes(`.${apiPid}.`)))
        console.log(`\nCPU profile of the api (${f}):\n${summarizeProfile(path.join(profDir, f), 20)}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

void main();
