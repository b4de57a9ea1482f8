/**
 * `npm run bench:analytics` — analytics on the dev Postgres, in a database created and dropped here.
 *
 *   Part 1  `performance` of one portfolio with 10 years of daily valuations (≈2,600 weekdays), warm:
 *           the service call, and the GraphQL query over HTTP with metrics only and with the series;
 *           baseline: `portfolio(id){ id }` over the same HTTP path (ratios printed). Target p99 ≤ 20 ms.
 *   Part 2  the close-of-day valuation job over P portfolios × N positions (default 10,000 × 50), run
 *           twice (insert, then the idempotent rerun). Target ≤ 60 s. Prints the database size and the
 *           bytes a day of valuations takes.
 *
 * Options: --portfolios=10000 --positions=50 --years=10 --iterations=300 --port=4600 (or BENCH_* env).
 * Needs DATABASE_URL (a role that may CREATE DATABASE). The machine is shared: figures are noisy.
 */
import 'reflect-metadata';
import { performance as perf } from 'node:perf_hooks';
import postgres from 'postgres';
import { createDatabase } from './lib/infra.js';
import { ms, summarize, table } from './lib/stats.js';
import { loadConfig } from '../src/config.js';
import { startApp } from '../src/app.js';
import { silentLogger } from '../src/lib/logger.js';
import { unixSocket } from '../src/db/client.js';

const TARGET_P99_MS = 20;
const TARGET_JOB_S = 60;

function opt(name: string, dflt: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  const env = process.env[`BENCH_${name.toUpperCase()}`];
  return Number(flag?.split('=')[1] ?? env ?? dflt);
}

async function main() {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    console.error('bench:analytics needs DATABASE_URL (a Postgres role that may CREATE DATABASE), e.g.\n  DATABASE_URL=postgres://tg:tg@127.0.0.1:5432/tg npm run bench:analytics');
    process.exit(2);
  }
  const P = opt('portfolios', 10_000);
  const N = opt('positions', 50);
  const years = opt('years', 10);
  const iterations = opt('iterations', 300);
  const port = opt('port', 4600);
  const fresh = await createDatabase(adminUrl);
  console.log(`database ${fresh.name} (dropped at the end)`);
  const config = loadConfig({
    DATABASE_URL: fresh.url,
    PORT: String(port),
    HOST: '127.0.0.1',
    JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-0000',
    ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    SEED_DEMO: 'false',
    MARKET_SIM: 'false',
    LOG_LEVEL: 'silent',
    USER_RATE_LIMIT_PER_MINUTE: '1000000',
  });
  const app = await startApp(config, 'all', { logger: silentLogger });
  const { url: u, path } = unixSocket(fresh.url);
  const sql = postgres(u, { max: 2, onnotice: () => {}, ...(path ? { path } : {}) });
  try {
    // ---- Part 1: one portfolio, 10 years of daily valuations
    const reg = await gqlPost(app.http!.url, `mutation{ register(email:"bench@example.com", password:"correct-horse-battery", name:"B"){ accessToken user { id } } }`);
    const token: string = reg.data.register.accessToken;
    const userId: string = reg.data.register.user.id;
    const pid: string = (await gqlPost(app.http!.url, `mutation{ createPortfolio(name:"ten years"){ id } }`, token)).data.createPortfolio.id;
    const t0 = perf.now();
    const inserted = await sql`
      with d as (
        select day::date as day, row_number() over (order by day) as i
        from generate_series(current_date - (${years} * 365), current_date - 1, interval '1 day') day
        where extract(isodow from day) < 6
      )
      insert into portfolio_valuations (portfolio_id, day, cash, positions_value, value, net_flow, computed_at)
      select ${pid}::uuid, day, 1000, round((100000 * exp(0.0003 * i + 0.05 * sin(i / 37.0)))::numeric, 2),
             1000 + round((100000 * exp(0.0003 * i + 0.05 * sin(i / 37.0)))::numeric, 2),
             case when i % 21 = 0 then 5000 else 0 end, now()
      from d returning 1`;
    console.log(`\nPart 1: ${inserted.length} daily valuations for one portfolio (${ms(perf.now() - t0)} to insert)`);
    const viewer = { userId, role: 'CLIENT' as const };
    const service = () => app.services.analytics.performance.portfolio(viewer, pid, { range: 'MAX', benchmark: null });
    const qMetrics = `query($p:ID!){ performance(portfolioId:$p, range:MAX){ endValue profit metrics { twr xirr cagr volatility sharpe sortino maxDrawdown calmar } } }`;
    const qSeries = `query($p:ID!){ performance(portfolioId:$p, range:MAX){ endValue metrics { twr xirr maxDrawdown } series { time value netFlow twrIndex drawdown } } }`;
    const qBase = `query($p:ID!){ portfolio(id:$p){ id } }`;
    const rows: string[][] = [];
    // What this process burns with no calls (relay polls, timers): subtracted in the last column.
    const idle0 = process.cpuUsage();
    const idleT0 = perf.now();
    await new Promise((r) => setTimeout(r, 3000));
    const idleCpu = process.cpuUsage(idle0);
    const idleRate = (idleCpu.user + idleCpu.system) / 1000 / (perf.now() - idleT0); // CPU ms per wall ms
    const measure = async (name: string, fn: () => Promise<unknown>) => {
      for (let i = 0; i < 30; i++) await fn();
      const times: number[] = [];
      const cpu0 = process.cpuUsage();
      const wall0 = perf.now();
      for (let i = 0; i < iterations; i++) {
        const s = perf.now();
        await fn();
        times.push(perf.now() - s);
      }
      const cpu = process.cpuUsage(cpu0);
      const st = summarize(times);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const busyMs = Math.max(0, cpuMs - idleRate * (perf.now() - wall0));
      rows.push([name, ms(st.p50), ms(st.p90), ms(st.p99), ms(st.max), ms(cpuMs / iterations), ms(busyMs / iterations)]);
      return st;
    };
    const base = await measure('baseline: portfolio(id){id} over HTTP', () => gqlPost(app.http!.url, qBase, token, { p: pid }));
    const svc = await measure('performance service call (MAX)', service);
    const m = await measure('performance over HTTP, metrics', () => gqlPost(app.http!.url, qMetrics, token, { p: pid }));
    const s = await measure(`performance over HTTP, + series (${inserted.length + 1} points)`, () => gqlPost(app.http!.url, qSeries, token, { p: pid }));
    console.log(table(['operation', 'p50', 'p90', 'p99', 'max', 'node CPU/call', 'minus idle'], rows));
    console.log('(node CPU/call: this process, i.e. server and client together, without Postgres; less sensitive to the shared machine than wall time)');
    console.log(`(minus idle: the same less what the process burns with no calls, ${(idleRate * 1000).toFixed(0)} ms CPU per s, measured for 3 s before)`);
    console.log(`ratios of p99 to the baseline: service ${(svc.p99 / base.p99).toFixed(2)}x, metrics ${(m.p99 / base.p99).toFixed(2)}x, series ${(s.p99 / base.p99).toFixed(2)}x`);
    console.log(`target p99 ≤ ${TARGET_P99_MS} ms (metrics over HTTP): ${m.p99 <= TARGET_P99_MS ? 'PASS' : 'MISS'}; with the series: ${s.p99 <= TARGET_P99_MS ? 'PASS' : 'MISS'}`);

    // ---- Part 2: the close-of-day job over P portfolios × N positions
    console.log(`\nPart 2: valuation job over ${P.toLocaleString('en')} portfolios × ${N} positions`);
    const t1 = perf.now();
    const have = Number((await sql`select count(*)::int as n from instruments`)[0]!.n);
    if (have < N) {
      await sql`insert into instruments (symbol, exchange, currency, tick_size, reference_price)
                select 'BENCH' || g, 'BENCH', 'INR', 0.05, 100 from generate_series(1, ${N - have}) g`;
    }
    await sql`insert into users (email, password_hash) select 'owner' || g || '@bench.example', 'x' from generate_series(1, ${Math.ceil(P / 100)}) g`;
    await sql`
      insert into portfolios (owner_id, name, base_currency, cash)
      select u.id, 'p' || g, 'INR', 10000 + g
      from generate_series(1, ${P}) g
      join (select id, row_number() over (order by email) as k from users where email like 'owner%@bench.example') u on u.k = (g - 1) / 100 + 1`;
    await sql`
      insert into positions (portfolio_id, instrument_id, quantity, average_cost)
      select p.id, i.id, 1 + (abs(hashtext(p.id::text || i.id::text)) % 100), 100
      from (select id from portfolios where name like 'p%' and name <> 'ten years') p
      cross join (select id from instruments order by symbol limit ${N}) i`;
    await sql`insert into ledger_entries (portfolio_id, kind, amount, currency) select id, 'DEPOSIT', 1000, 'INR' from portfolios where name like 'p%'`;
    await sql`insert into latest_quotes (instrument_id, last, updated_at) select id, reference_price * 1.01, now() from instruments on conflict (instrument_id) do update set last = excluded.last, updated_at = excluded.updated_at`;
    await sql`analyze`;
    const posCount = Number((await sql`select count(*)::int as n from positions`)[0]!.n);
    console.log(`set up ${posCount.toLocaleString('en')} positions in ${ms(perf.now() - t1)}`);
    const sizeBefore = Number((await sql`select pg_database_size(current_database())::bigint as b`)[0]!.b);
    const tableBefore = Number((await sql`select pg_total_relation_size('portfolio_valuations')::bigint as b`)[0]!.b);
    const r1s = perf.now();
    const n1 = await app.services.analytics.valuations.valueAll();
    const r1 = (perf.now() - r1s) / 1000;
    const r2s = perf.now();
    const n2 = await app.services.analytics.valuations.valueAll();
    const r2 = (perf.now() - r2s) / 1000;
    const sizeAfter = Number((await sql`select pg_database_size(current_database())::bigint as b`)[0]!.b);
    const tableAfter = Number((await sql`select pg_total_relation_size('portfolio_valuations')::bigint as b`)[0]!.b);
    const perDay = tableAfter - tableBefore;
    console.log(
      table(
        ['run', 'portfolios valued', 'seconds', 'portfolios/s'],
        [
          ['first (insert)', String(n1), r1.toFixed(2), (n1 / r1).toFixed(0)],
          ['rerun (upsert)', String(n2), r2.toFixed(2), (n2 / r2).toFixed(0)],
        ],
      ),
    );
    console.log(`target ≤ ${TARGET_JOB_S} s: ${Math.max(r1, r2) <= TARGET_JOB_S ? 'PASS' : 'MISS'}`);
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
    console.log(`database size: ${mb(sizeBefore)} before the job, ${mb(sizeAfter)} after two runs`);
    console.log(`one day of valuations for ${P} portfolios: ${mb(perDay)} (≈${Math.round(perDay / P)} bytes per portfolio-day, incl. index and the rerun's dead tuples); a year of weekdays ≈ ${mb((perDay / 2) * 261)}–${mb(perDay * 261)}`);
  } finally {
    await sql.end();
    await app.stop();
    await fresh.drop();
  }
}

async function gqlPost(url: string, query: string, token?: string, variables?: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: any; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
