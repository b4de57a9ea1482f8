/**
 * `npm run bench:reads` — what dashboards do all day, on the scaled api (Postgres + Redis, api and worker
 * in separate processes): C closed-loop clients over keep-alive HTTP, D seconds per shape.
 *
 *   me         `{ me { id email } }`
 *   portfolio  a portfolio with 25 positions, each with its instrument
 *   full       the same plus its last 20 orders with their instruments and fills
 *
 * The 25 positions come from 25 real market buys through the order loop (one per NSE symbol). For each
 * shape: req/s, p50/p99, and SQL statements per request from the api's own `db_statements_total`
 * (background subtracted), so an N+1 shows as a count that grows with the list. Also a baseline in the
 * same run: an authenticated `{ __typename }` (HTTP, auth and GraphQL with no resolver work), so the figures can
 * be read as a fraction of what the server does with no data at all.
 *
 * Options: --duration=10 --concurrency=32 --runtime=dist|tsx --no-build
 *          --shapes=baseline,me,portfolio,full (a subset, e.g. to profile one shape alone)
 *          --cpu-prof (api and worker write V8 CPU profiles; the api's hottest functions are printed)
 *          --executor=jit|graphql-js (the api's GRAPHQL_EXECUTOR; default the product's, jit)
 *          --warmup=3 (seconds of the same load, unmeasured, before each shape's measured seconds)
 *          --api-replicas=1 (api processes, as the compose file's replicas; requests round-robin across them)
 *          --rate=R (paced instead of closed-loop: R requests/s arrive on a fixed schedule over the same C
 *                    connections; a request waits for a free one when all are busy, and its latency runs
 *                    from its scheduled arrival, so queueing counts and a slow server cannot slow the
 *                    arrivals down. Answers "what is the p99 at 300 req/s?" where the closed loop answers
 *                    "what is the p99 at the most the server can do?")
 */
import 'reflect-metadata';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireEnv } from './lib/infra.js';
import { buildDist, type Runtime } from './lib/processes.js';
import { GraphqlPath, executorOption } from './lib/graphql-path.js';
import { openSql, waitAllFilled } from './lib/verify.js';
import { ms, sleep, summarize, table } from './lib/stats.js';
import { summarizeProfile } from './lib/profile-summary.js';

const PROF_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'data', 'bench-reads-prof');

const TARGETS: Record<string, { rps?: number; p99?: number }> = { me: { rps: 1000 }, full: { rps: 300, p99: 150 } };

function option(argv: string[], name: string, dflt: string): string {
  const hit = argv.find((a) => a.startsWith(`--${name}=`));
  if (hit) return hit.slice(name.length + 3);
  return argv.includes(`--${name}`) ? 'true' : dflt;
}

const PORTFOLIO = `query($p: ID!) { portfolio(id: $p) { id cash availableCash marketValue positions { quantity averageCost marketValue unrealizedPnl instrument { symbol name exchange } } } }`;
const FULL = `query($p: ID!) { portfolio(id: $p) { id cash availableCash marketValue positions { quantity averageCost marketValue unrealizedPnl instrument { symbol name exchange } }
  orders(first: 20) { edges { node { id status side quantity filledQuantity averageFillPrice instrument { symbol name } fills { quantity price fee executedAt } } } } } }`;

/** The api runs as in production, where /metrics needs a token (or a port of its own). */
const METRICS_TOKEN = 'bench-reads-metrics-token-0000';

/** CPU ms (user + system) the process has used so far. */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
}

async function statements(apiUrl: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const m = /^db_statements_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(text);
  if (!m) throw new Error('the api exposes no db_statements_total');
  return Number(m[1]);
}

async function main(): Promise<void> {
  const env = requireEnv();
  const argv = process.argv.slice(2);
  const durationMs = Number(option(argv, 'duration', process.env.BENCH_DURATION_S ?? '10')) * 1000;
  const concurrency = Number(option(argv, 'concurrency', '32'));
  const runtime = option(argv, 'runtime', 'dist') as Runtime;
  if (runtime === 'dist' && !argv.includes('--no-build')) buildDist();
  const executor = executorOption(option(argv, 'executor', 'jit'));
  const apiReplicas = Number(option(argv, 'api-replicas', '1'));
  const warmupMs = Number(option(argv, 'warmup', '3')) * 1000;
  const paceRps = Number(option(argv, 'rate', '0'));
  console.log(
    `bench:reads — ${paceRps > 0 ? `${paceRps} req/s paced over ${concurrency} connections` : `${concurrency} closed-loop clients`}, ${durationMs / 1000} s per shape, runtime ${runtime}, executor ${executor}, ` +
      `${apiReplicas} api process${apiReplicas > 1 ? 'es (round-robin, as a load balancer in front of replicas)' : ''}, ` +
      `${warmupMs / 1000} s of unmeasured load per shape first`,
  );

  const cpuProf = argv.includes('--cpu-prof');
  if (cpuProf) rmSync(PROF_DIR, { recursive: true, force: true });
  const nodeArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [];
  const g = new GraphqlPath(env, { runtime, users: 1, workerConcurrency: 16, poolSize: 10, tickMs: 500, nodeArgs, logLevel: 'warn', extraEnv: { METRICS_TOKEN, GRAPHQL_EXECUTOR: executor }, apiReplicas });
  // Summed over the api processes.
  const sent = async () => (await Promise.all(g.urls.map((u) => statements(u)))).reduce((a, b) => a + b, 0);
  const apiCpuMs = () => g.apis.reduce((t, a) => t + cpuMsOf(a.pid), 0);
  const sql0 = { end: async () => {} } as { end: () => Promise<void> };
  let sql = sql0 as ReturnType<typeof openSql> | typeof sql0;
  let failed = false;
  try {
    await g.start(concurrency + 8);
    await g.setUp();
    const db = openSql(g.db.url);
    sql = db;
    const pid = g.portfolioIds[0];
    const symbols = (await db<{ symbol: string }[]>`select symbol from instruments where exchange = 'NSE' and currency = 'INR' and tradable order by symbol limit 25`).map((r) => r.symbol);
    // 25 market buys through the loop: 25 positions, 25 orders with a fill each.
    await Promise.all(
      symbols.map(async (symbol, i) => {
        for (let tries = 0; ; tries++) {
          const r = await g.request<{ placeOrder: { id: string } }>(0, `mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }`, {
            i: { portfolioId: pid, symbol, exchange: 'NSE', side: 'BUY', type: 'MARKET', quantity: String(1 + (i % 5)), clientOrderId: `r-${i}` },
          });
          if (r.data?.placeOrder?.id) return;
          if (tries > 300) throw new Error(`could not place ${symbol}: ${JSON.stringify(r.errors)}`);
          await sleep(200); // no quote yet right after start
        }
      }),
    );
    const filled = await waitAllFilled(db, 'r-', symbols.length, 120_000);
    console.log(`  ${filled.filled}/${symbols.length} set-up orders filled; ${symbols.length} positions`);

    const shapes: [string, string, Record<string, unknown>][] = [
      ['baseline { __typename } (no resolver, no data)', '{ __typename }', {}],
      ['me', '{ me { id email } }', {}],
      ['portfolio (25 positions + instruments)', PORTFOLIO, { p: pid }],
      ['full (+ last 20 orders, instruments, fills)', FULL, { p: pid }],
    ];
    const only = option(argv, 'shapes', '');
    if (only) {
      const keep = new Set(only.split(','));
      for (let i = shapes.length - 1; i >= 0; i--) if (!keep.has(shapes[i][0].split(' ')[0])) shapes.splice(i, 1);
    }
    const rows: string[][] = [];
    let baselineRps = Number.NaN;
    // What the api sends with no requests (the relay's poll): subtracted from each shape's count.
    const b0 = await sent();
    const bt0 = performance.now();
    await sleep(3000);
    const bgPerMs = ((await sent()) - b0) / (performance.now() - bt0);
    for (const [name, query, variables] of shapes) {
      const check = await g.request<unknown>(0, query, variables);
      if (check.errors?.length) throw new Error(`${name}: ${JSON.stringify(check.errors)}`);
      const latencies: number[] = [];
      let errors = 0;
      /** `concurrency` closed-loop clients for `ms`; `record` keeps their figures. */
      const closedLoop = (ms: number, record: boolean) => {
        const end = performance.now() + ms;
        return Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (performance.now() < end) {
              const start = performance.now();
              const r = await g.request<unknown>(0, query, variables);
              if (!record) continue;
              if (r.errors?.length || r.status !== 200) errors++;
              else latencies.push(performance.now() - start);
            }
          }),
        );
      };
      /**
       * `paceRps` arrivals per second for `ms` on a fixed schedule, taken in turn by `concurrency`
       * connections; each latency runs from the request's scheduled arrival (waiting for a connection included).
       */
      const paced = (ms: number, record: boolean) => {
        const interval = 1000 / paceRps;
        const count = Math.floor(ms / interval);
        const t0 = performance.now();
        let next = 0;
        return Promise.all(
          Array.from({ length: concurrency }, async () => {
            for (let i = next++; i < count; i = next++) {
              const due = t0 + i * interval;
              const early = due - performance.now();
              if (early > 0) await sleep(early);
              const r = await g.request<unknown>(0, query, variables);
              if (!record) continue;
              if (r.errors?.length || r.status !== 200) errors++;
              else latencies.push(performance.now() - due);
            }
          }),
        );
      };
      const load = paceRps > 0 ? paced : closedLoop;
      // The same load unmeasured first: every api process compiles and optimises this shape's path, as a
      // process that has served for a while has (with replicas, each process its own).
      await load(warmupMs, false);
      const s0 = await sent();
      const c0 = apiCpuMs();
      const t0 = performance.now();
      await load(durationMs, true);
      const elapsed = performance.now() - t0;
      const apiCpu = apiCpuMs() - c0;
      const sqlPerRequest = ((await sent()) - s0 - bgPerMs * elapsed) / Math.max(1, latencies.length + errors);
      const rps = (latencies.length / elapsed) * 1000;
      if (name.startsWith('baseline')) baselineRps = rps;
      const s = summarize(latencies);
      const key = name.split(' ')[0];
      const t = TARGETS[key];
      const target = t ? [t.rps ? `>= ${t.rps}/s` : '', t.p99 ? `p99 <= ${t.p99} ms` : ''].filter(Boolean).join(', ') : '';
      // Paced below a throughput target, the run says nothing about that target: no verdict.
      const judged = t && !(paceRps > 0 && t.rps && paceRps < t.rps);
      const ok = judged ? (t.rps ? rps >= t.rps * (paceRps > 0 ? 0.99 : 1) : true) && (t.p99 ? s.p99 <= t.p99 : true) : null;
      const cpuPerRequest = apiCpu / Math.max(1, latencies.length + errors);
      rows.push([name, rps.toFixed(0), ms(s.p50), ms(s.p99), Math.max(0, sqlPerRequest).toFixed(1), ms(cpuPerRequest), paceRps > 0 || !Number.isFinite(baselineRps) ? '' : (rps / baselineRps).toFixed(2), String(errors), target, ok === null ? '' : ok ? 'PASS' : 'MISS']);
      console.log(`  ${name}: ${rps.toFixed(0)} req/s`);
    }
    console.log(
      [
        '',
        '=== bench:reads ===',
        table(['shape', 'req/s', 'p50', 'p99', 'SQL/request', 'api CPU/request', 'vs baseline', 'errors', 'target', ''], rows),
        '',
        ...(paceRps > 0 ? [`Paced: ${paceRps} req/s offered on a fixed schedule over ${concurrency} connections; req/s is what was answered, p50/p99 run from each request's scheduled arrival.`] : []),
        'SQL/request counts the statements the api process(es) sent (db_statements_total), background subtracted.',
        'api CPU/request: the api processes\' CPU time (user + system, /proc) over the shape / requests answered; background included.',
        'The machine is shared (2 cores, other agents): read the ratio to the baseline as well as the absolute figures.',
      ].join('\n'),
    );
  } catch (err) {
    failed = true;
    console.error(err);
  } finally {
    const apiPids = g.apis.map((a) => a.pid);
    await sql.end();
    await g.stop();
    await g.cleanUp().catch((err: unknown) => console.error('cleanup failed:', err));
    if (cpuProf && existsSync(PROF_DIR)) {
      for (const f of readdirSync(PROF_DIR).filter((f) => apiPids.some((pid) => f.includes(`.${pid}.`))))
        console.log(`\nCPU profile of the api (${f}):\n${summarizeProfile(path.join(PROF_DIR, f), 25)}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

void main();
