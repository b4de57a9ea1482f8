/**
 * `npm run bench:baskets` — basket runs against single orders, on Postgres + Redis with separate api and
 * worker processes (the same set-up as bench:orders, from bench/lib).
 *
 *   Phase 1  single orders: C closed-loop clients place MARKET buys over GraphQL for D s (bench:orders'
 *            phase 1, shortened): orders placed per second, and filled per second end to end.
 *   Phase 2  baskets: N investments (default 200) of one 20-stock smallcase (= 20 × N orders), C at a time,
 *            over GraphQL: orders placed per second (each investInSmallcase places its 20 orders and holds
 *            in one transaction), and orders per second from the first investment to every run COMPLETED.
 *
 * Printed: both rates and their ratios (target: basket orders/s ≥ 3× single orders/s), and what an order
 * costs in each phase, which the shared machine's load does not change: CPU ms per order of the api, the
 * worker, the database's backends and Redis (from /proc), and the database's transactions per order
 * (pg_stat_database of the bench's own database). Checked in SQL:
 * every run COMPLETED with 20 FILLED orders, each run's summary line equal to its order and its fills,
 * one fill per order, holdings equal to net fills, cash = ledger. Exit code 1 only if something was lost,
 * doubled or inconsistent, never because a figure missed its target.
 *
 * Options: --investments=200 --concurrency=8 --duration=10 --users=20 --worker-concurrency=64 --runtime=dist|tsx --no-build
 */
import 'reflect-metadata';
import { requireEnv } from './lib/infra.js';
import { LOG_DIR, buildDist, type Runtime } from './lib/processes.js';
import { GraphqlPath } from './lib/graphql-path.js';
import { GqlHttp } from './lib/gql-client.js';
import { closedLoop } from './lib/load.js';
import { backendPids, openSql, waitAllFilled, type Sql } from './lib/verify.js';
import { cpuBetween, cpuSnapshot, type CpuUsage } from './lib/cpu.js';
import { rate, sleep, table } from './lib/stats.js';
import { PgWaitSampler } from './lib/pg-waits.js';
import { SEED_INSTRUMENTS } from '../src/db/seed/instruments.js';
import { Decimal } from '../src/lib/decimal.js';

function priceWeights(symbols: readonly string[]): { symbol: string; weight: string }[] {
  const prices = symbols.map((s) => new Decimal(SEED_INSTRUMENTS.find((i) => i.symbol === s && i.exchange === 'NSE')!.referencePrice));
  const total = prices.reduce((a, p) => a.add(p), new Decimal(0));
  let acc = new Decimal(0);
  return symbols.map((symbol, i) => {
    const w = i === symbols.length - 1 ? new Decimal(1).sub(acc) : prices[i].div(total).toDecimalPlaces(8, Decimal.ROUND_DOWN);
    acc = acc.add(w);
    return { symbol, weight: w.toFixed() };
  });
}

const TARGET_RATIO = 3;

/**
 * 20 NSE stocks (the seed's dearest ones left out), weighted by reference price so that an investment near
 * the minimum buys one or two shares of each: the same per-order work as bench:orders' one-share orders
 * (a larger order fills in several partial fills against the simulated book's displayed size).
 */
const STOCKS = ['RELIANCE', 'HDFCBANK', 'INFY', 'ICICIBANK', 'SBIN', 'BHARTIARTL', 'ITC', 'HINDUNILVR', 'KOTAKBANK', 'AXISBANK',
  'BAJFINANCE', 'SUNPHARMA', 'ASIANPAINT', 'WIPRO', 'HCLTECH', 'NTPC', 'POWERGRID', 'ONGC', 'TATASTEEL', 'TITAN'];

function options(argv: string[]) {
  const flags = new Map(argv.map((a) => /^--([a-z-]+)(?:=(.*))?$/.exec(a)).filter(Boolean).map((m) => [m![1], m![2] ?? 'true'] as const));
  const int = (n: string, d: number) => Number(flags.get(n) ?? d);
  const runtime = (flags.get('runtime') ?? 'dist') as Runtime;
  return {
    investments: int('investments', 200),
    concurrency: int('concurrency', 8),
    durationS: int('duration', 10),
    users: int('users', 20),
    workerConcurrency: int('worker-concurrency', 64),
    runtime,
    build: runtime === 'dist' && !flags.has('no-build'),
  };
}

/** Committed transactions of the bench's database so far (every process's, as Postgres counts them). */
async function commits(sql: Sql, database: string): Promise<number> {
  const [r] = await sql<{ n: string }[]>`select xact_commit::text as n from pg_stat_database where datname = ${database}`;
  return Number(r?.n ?? 0);
}

/** What one phase cost: CPU per process group, and database transactions, over its orders. */
interface PhaseCost {
  cpu: CpuUsage;
  orders: number;
  transactions: number;
}

const COST_GROUPS = ['api', 'worker', 'pg backends', 'redis'] as const;

/**
 * Per order, with what api, worker, Postgres and Redis cost with no order flowing (market feed, relay,
 * reconciler, sweeps: measured over a quiet window before phase 1) subtracted for the phase's duration.
 */
function costRows(idle: PhaseCost, single: PhaseCost, basket: PhaseCost): string[][] {
  const net = (c: PhaseCost, g: string) => Math.max(0, ((c.cpu.cores[g] ?? 0) - (idle.cpu.cores[g] ?? 0)) * c.cpu.seconds * 1000) / c.orders;
  const total = (c: PhaseCost) => COST_GROUPS.reduce((a, g) => a + net(c, g), 0);
  const raw = (c: PhaseCost) => COST_GROUPS.reduce((a, g) => a + ((c.cpu.cores[g] ?? 0) * c.cpu.seconds * 1000) / c.orders, 0);
  const tx = (c: PhaseCost) => Math.max(0, c.transactions - (idle.transactions / idle.cpu.seconds) * c.cpu.seconds) / c.orders;
  const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}` : '—');
  return [
    ...COST_GROUPS.map((g) => [`CPU ms / order: ${g}`, net(single, g).toFixed(2), net(basket, g).toFixed(2), ratio(net(basket, g), net(single, g))]),
    ['CPU ms / order: these four', total(single).toFixed(2), total(basket).toFixed(2), ratio(total(basket), total(single))],
    ['  the same, idle cost not subtracted', raw(single).toFixed(2), raw(basket).toFixed(2), ratio(raw(basket), raw(single))],
    ['DB transactions / order (single statements count as one)', tx(single).toFixed(2), tx(basket).toFixed(2), ratio(tx(basket), tx(single))],
    ['machine busy, all processes (cores of 2)', single.cpu.machine.toFixed(2), basket.cpu.machine.toFixed(2), ''],
  ];
}

async function main(): Promise<void> {
  const env = requireEnv();
  const o = options(process.argv.slice(2));
  console.log(`bench:baskets — ${o.investments} investments × ${STOCKS.length} stocks, ${o.concurrency} at a time; single orders: ${o.concurrency} clients × ${o.durationS} s; ${o.users} users\n  logs: ${LOG_DIR}`);
  if (o.build) buildDist();
  const g = new GraphqlPath(env, { runtime: o.runtime, users: o.users, workerConcurrency: o.workerConcurrency, poolSize: 10, tickMs: 500, nodeArgs: [], logLevel: 'warn' });
  let sql: Sql | undefined;
  let http: GqlHttp | undefined;
  const problems: string[] = [];
  try {
    await g.start(64);
    await g.setUp();
    sql = openSql(g.db.url);
    const client = new GqlHttp(g.apiBaseUrl, 64);
    http = client;
    const accounts = g.accountList;
    // Wait for quotes of every constituent (the market publishes on its first ticks).
    for (let i = 0; ; i++) {
      const r = await client.request<{ q: unknown }>(`{ ${STOCKS.map((s, k) => `q${k}: quote(symbol:"${s}"){ last }`).join(' ')} }`, {}, accounts[0].token);
      if (!r.errors?.length) break;
      if (i > 200) throw new Error(`no quotes: ${JSON.stringify(r.errors)}`);
      await sleep(200);
    }

    const roles = new Map<number, string>([
      [g.api.pid, 'api'],
      [g.worker.pid, 'worker'],
      [process.pid, 'bench'],
    ]);
    const tagBackends = async () => {
      for (const pid of await backendPids(sql!, g.db.name)) if (!roles.has(pid)) roles.set(pid, 'pg backends');
    };
    await tagBackends();
    // What api, worker, Postgres and Redis cost with no order flowing, subtracted from both phases.
    const [i0, w0] = [cpuSnapshot(), await commits(sql, g.db.name)];
    await sleep(5000);
    const idle: PhaseCost = { cpu: cpuBetween(i0, cpuSnapshot(), roles), orders: 0, transactions: (await commits(sql, g.db.name)) - w0 };

    // ---------------------------------------------------------------- phase 1: single orders
    console.log(`  phase 1: single orders, ${o.concurrency} clients for ${o.durationS} s…`);
    const [s0, x0] = [cpuSnapshot(), await commits(sql, g.db.name)];
    const load = await closedLoop({ place: g.place, concurrency: o.concurrency, durationMs: o.durationS * 1000, portfolios: o.users, idPrefix: 's-' });
    const singlePlaced = load.accepted.length / ((load.lastAnswer - load.firstStart) / 1000);
    const singleDb = await waitAllFilled(sql, 's-', load.accepted.length, 120_000);
    await tagBackends();
    const single: PhaseCost = { cpu: cpuBetween(s0, cpuSnapshot(), roles), orders: load.accepted.length, transactions: (await commits(sql, g.db.name)) - x0 };
    const singleEnd = singleDb.lastFillAt ? load.accepted.length / ((singleDb.lastFillAt - load.firstStart) / 1000) : Number.NaN;
    await sleep(1000);

    // ---------------------------------------------------------------- phase 2: basket runs
    const sc = await client.must<{ createSmallcase: { id: string; minimumInvestment: string } }>(
      `mutation($i: CreateSmallcaseInput!) { createSmallcase(input: $i) { id minimumInvestment } }`,
      { i: { name: 'Bench 20', visibility: 'PUBLIC', constituents: priceWeights(STOCKS) } },
      accounts[0].token,
    );
    const amount = Math.ceil(Number(sc.createSmallcase.minimumInvestment) * 1.1).toString();
    console.log(`  phase 2: ${o.investments} investments of ₹${amount} (minimum ₹${sc.createSmallcase.minimumInvestment}), ${o.concurrency} at a time…`);
    let next = 0;
    const errors = new Map<string, number>();
    const [b0, y0] = [cpuSnapshot(), await commits(sql, g.db.name)];
    // What the database's backends do meanwhile (sampled every 10 ms, on a connection of its own): running,
    // waiting for a row lock another transaction holds, or idle in a transaction waiting for the app.
    const waitSql = openSql(g.db.url);
    const waits = new PgWaitSampler(waitSql, g.db.name, 10);
    waits.start();
    const t0 = performance.now();
    let lastAnswer = t0;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < o.investments) {
          const i = next++;
          const a = accounts[i % accounts.length];
          const r = await client.request<{ investInSmallcase: { id: string } }>(
            `mutation($s: ID!, $p: ID!, $a: Decimal!, $c: String) { investInSmallcase(smallcaseId: $s, portfolioId: $p, amount: $a, clientRequestId: $c) { id } }`,
            { s: sc.createSmallcase.id, p: a.portfolioId, a: amount, c: `bench-inv-${i}` },
            a.token,
          );
          lastAnswer = performance.now();
          if (!r.data?.investInSmallcase) {
            const code = r.errors?.[0]?.extensions?.code ?? `HTTP_${r.status}`;
            errors.set(code, (errors.get(code) ?? 0) + 1);
          }
        }
      }),
    );
    const placeSeconds = (lastAnswer - t0) / 1000;
    const [{ orders }] = await sql`select count(*)::int as orders from basket_run_orders`;
    const basketPlaced = orders / placeSeconds;
    let ended = 0;
    const deadline = performance.now() + 1_200_000;
    for (;;) {
      const [r] = await sql`select count(*) filter (where status in ('COMPLETED','PARTIAL','FAILED'))::int as ended, count(*)::int as runs from basket_runs`;
      ended = r.ended;
      if (r.ended === r.runs || performance.now() > deadline) break;
      await sleep(100);
    }
    const pgWaits = await waits.stop();
    await waitSql.end();
    await tagBackends();
    const basket: PhaseCost = { cpu: cpuBetween(b0, cpuSnapshot(), roles), orders, transactions: (await commits(sql, g.db.name)) - y0 };
    const [{ last }] = await sql`select extract(epoch from max(completed_at)) * 1000 as last from basket_runs`;
    const [{ first }] = await sql`select extract(epoch from min(created_at)) * 1000 as first from basket_runs`;
    const basketEnd = orders / ((Number(last) - Number(first)) / 1000);

    // ---------------------------------------------------------------- checks in SQL
    const [runs] = await sql`select count(*)::int as n, count(*) filter (where status = 'COMPLETED')::int as completed from basket_runs`;
    if (runs.n !== o.investments) problems.push(`${runs.n} runs for ${o.investments} investments`);
    if (runs.completed !== runs.n) problems.push(`${runs.n - runs.completed} runs did not complete`);
    if (orders !== o.investments * STOCKS.length) problems.push(`${orders} orders, expected ${o.investments * STOCKS.length}`);
    const [notFilled] = await sql`select count(*)::int as n from basket_run_orders b join orders o on o.id = b.order_id where o.status <> 'FILLED'`;
    if (notFilled.n) problems.push(`${notFilled.n} run orders not FILLED`);
    const [badSummary] = await sql`
      select count(*)::int as n from basket_runs r join basket_run_orders b on b.run_id = r.id join orders o on o.id = b.order_id
      left join lateral (select coalesce(sum(quantity), 0) as filled, count(*) as fills from fills f where f.order_id = o.id) f on true
      where o.filled_quantity <> f.filled
         or not exists (select 1 from jsonb_array_elements(r.summary) s where s->>'orderId' = o.id::text
                        and (s->>'filledQuantity')::numeric = f.filled and (s->>'quantity')::numeric = o.quantity and s->>'status' = o.status::text)`;
    if (badSummary.n) problems.push(`${badSummary.n} summary lines disagree with their orders' fills`);
    const [lines] = await sql`select coalesce(sum(jsonb_array_length(summary)), 0)::int as n from basket_runs`;
    if (lines.n !== orders) problems.push(`${lines.n} summary lines for ${orders} orders (lost or doubled)`);
    const [dupFills] = await sql`select count(*)::int as n from (select order_id, broker_fill_id from fills group by 1, 2 having count(*) > 1) d`;
    if (dupFills.n) problems.push(`${dupFills.n} duplicated fills`);
    const [badHoldings] = await sql`
      select count(*)::int as n from investment_holdings h
      left join lateral (select sum(f.quantity) as q from basket_runs r join basket_run_orders b on b.run_id = r.id join orders o on o.id = b.order_id
                         join fills f on f.order_id = o.id where r.investment_id = h.investment_id and o.instrument_id = h.instrument_id) x on true
      where h.quantity <> coalesce(x.q, 0)`;
    if (badHoldings.n) problems.push(`${badHoldings.n} holdings differ from their fills`);
    const [cash] = await sql`select count(*)::int as n from portfolios p where p.cash <> coalesce((select sum(amount) from ledger_entries l where l.portfolio_id = p.id), 0)`;
    if (cash.n) problems.push(`${cash.n} portfolios whose cash differs from the ledger`);

    const ratioPlaced = basketPlaced / singlePlaced;
    const ratioEnd = basketEnd / singleEnd;
    console.log(
      '\n' +
        table(
          ['', 'single orders', 'basket runs', 'ratio', 'target'],
          [
            ['orders placed / s', rate(singlePlaced), rate(basketPlaced), `${ratioPlaced.toFixed(1)}×`, ''],
            // Issue 8's target is end to end: from the first investment to every run COMPLETED.
            ['orders filled / s (end to end)', rate(singleEnd), rate(basketEnd), `${ratioEnd.toFixed(1)}×`, `≥ ${TARGET_RATIO}× ${ratioEnd >= TARGET_RATIO ? 'PASS' : 'MISS'}`],
          ],
        ),
    );
    console.log(
      '\n' +
        table(['what an order costs, idle cost subtracted (other users\' load changes these little)', 'single', 'basket', 'basket / single'], costRows(idle, single, basket)) +
        '\n',
    );
    const busy = pgWaits.reduce((a, w) => a + w.backends, 0);
    console.log(
      '  phase 2, the bench database\'s backends (pg_stat_activity every 10 ms; mean number in each state, share of the non-idle):\n' +
        table(['state', 'backends', 'share'], pgWaits.map((w) => [w.what, w.backends.toFixed(2), `${((100 * w.backends) / Math.max(busy, 1e-9)).toFixed(0)} %`])) +
        '\n',
    );
    console.log(`  ${load.accepted.length} single orders; ${o.investments} investments = ${orders} orders in ${placeSeconds.toFixed(1)} s, every run ended after ${((Number(last) - Number(first)) / 1000).toFixed(1)} s (${ended}/${runs.n} ended)`);
    if (errors.size) console.log(`  invest errors: ${[...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`);
    console.log(`  checks: ${problems.length ? 'FAIL\n    ' + problems.join('\n    ') : 'OK — every run COMPLETED, summaries equal to fills, none lost or doubled, holdings = fills, cash = ledger'}`);
    console.log('  (2 shared cores: figures are noisy; compare the ratio, measured in the same run)');
  } finally {
    await sql?.end();
    await g.stop();
    http?.close();
    await g.cleanUp();
  }
  process.exit(problems.length ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
