/**
 * `npm run bench:orders` — the order loop on Postgres + Redis with separate api and worker processes.
 *
 *   Phase 1  throughput: C closed-loop clients place MARKET buys over GraphQL (keep-alive HTTP) for D s;
 *            placed/s, and filled/s from the first placement to the last fillReceived event.
 *   Phase 2  latency: an open loop at R orders/s for D s; mutation start → fillReceived (graphql-ws).
 *   Phase 4  embedded: the plumbing on PGlite with the in-process queue and pub/sub (npm start's mode).
 *   Phase 3  plumbing: the same services, SQL transactions and BullMQ jobs in this process, no GraphQL,
 *            same C and D; the ratio GraphQL path / plumbing path.
 *   Phase 5  embedded, end to end: phase 1 against `npm start`'s mode (one process of every role, PGlite
 *            files, in-process queue and pub/sub), over the same GraphQL and graphql-ws.
 *   Phase 6  embedded, end to end: phase 2 against the same (one server for 5 and 6).
 *
 * Every phase is checked in SQL (phases 5 and 6 on the embedded server's data directory, opened once it has
 * stopped): every order FILLED, exactly one broker order, broker fill, fill row and
 * trade line each, no open hold, cash = ledger, and (GraphQL) exactly one fillReceived event per order.
 * Figures are printed with the targets and PASS/MISS; the exit code is 1 only if something was lost or
 * duplicated (or the run broke), never because a figure missed its target.
 *
 * Load shape (since stop 35): 128 closed-loop clients over 200 users, one portfolio each. A closed loop
 * can fill at most clients / latency orders a second (Little's law): 32 clients at the ~90 ms a placement
 * takes under load capped phase 1 near 350/s with cores to spare, and 20 portfolios made every batch
 * wait for the same portfolio locks. Stops 1-34 ran --users=20 --concurrency=32; pass them to compare.
 *
 * Options (flag or env): --duration=10 (BENCH_DURATION_S) --users=200 --concurrency=128 --rate=100
 * --worker-concurrency=64 --pool=10 --tick-ms=500 --runtime=dist|tsx --no-build --cpu-prof
 * --phases=1,2,3,4,5,6 --warmup=5 (orders per portfolio) --log-level=warn --pgbench-seconds=10 (0: skip)
 * --pgbench-clients=8 --executor=jit|graphql-js (the api's GRAPHQL_EXECUTOR; default the product's, jit)
 * --pg-waits (phase 2 also samples pg_stat_activity every 10 ms and prints what the backends waited for;
 * off by default, as those 100 queries a second load the Postgres being measured). BENCH_NODE_ARGS='--flag …' adds Node/V8 flags to every process the bench starts (e.g.
 * `--single-threaded-gc`, measured at stop 22: p99 at 100/s 166–224 ms against 113–140 ms without). With BENCH_STATEMENT_TEXTS=1, phase 3 also prints its statements per order by text and, at
 * the end, how each connection's prepared statements were planned (generic / custom plans).
 *
 * Before the phases, pgbench's built-in TPC-B-like script runs against the same Postgres (a scratch
 * database, dropped after), so orders/s can be read per pgbench TPS and compared across machines; and
 * bench/lib/wake-cost.ts measures what a message between two Node processes costs when they sleep between
 * messages (10 ms apart) against back to back, which is what latency at moderate rates depends on. The
 * cost per order (SQL statements and transactions of the plumbing path, Redis commands, CPU ms of each
 * process) is printed beside its target.
 */
import 'reflect-metadata';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { requireEnv } from './lib/infra.js';
import { LOG_DIR, buildDist, type Runtime } from './lib/processes.js';
import { GraphqlPath, executorOption, type Executor } from './lib/graphql-path.js';
import { PlumbingPath } from './lib/plumbing.js';
import { closedLoop, openLoop, type LoadResult, type Placer } from './lib/load.js';
import { cpuBetween, cpuSnapshot, type CpuUsage } from './lib/cpu.js';
import { backendPids, openSql, serverTimes, submitJobTimes, verifyPhase, waitAllFilled, type Sql, type Verification } from './lib/verify.js';
import { ms, rate, sleep, summarize, table, type Summary } from './lib/stats.js';
import { summarizeProfile } from './lib/profile-summary.js';
import { runPgbench, type PgbenchResult } from './lib/pgbench.js';
import { LOOP_SAMPLE_MS, LoopDelayProbe, type LoopDelay } from './lib/loop-delay.js';
import { PgWaitSampler } from './lib/pg-waits.js';
import { sql as drizzleSql } from 'drizzle-orm';
import { openDb } from '../src/db/client.js';
import { measureWakeCost, type WakeCost } from './lib/wake-cost.js';

const TARGET_THROUGHPUT = 500;
const TARGET_P99_MS = 50;
const TARGET_STATEMENTS = 10;
const TARGET_TRANSACTIONS = 3;
const TARGET_REDIS = 20;
const DRAIN_TIMEOUT_MS = 120_000;

interface Options {
  durationS: number;
  users: number;
  concurrency: number;
  rate: number;
  workerConcurrency: number;
  poolSize: number;
  apiReplicas: number;
  tickMs: number;
  runtime: Runtime;
  build: boolean;
  cpuProf: boolean;
  phases: Set<number>;
  warmupPerPortfolio: number;
  logLevel: string;
  pgbenchSeconds: number;
  pgbenchClients: number;
  executor: Executor;
  pgWaits: boolean;
}

function parseOptions(argv: string[]): Options {
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    flags.set(m[1], m[2] ?? 'true');
  }
  const get = (name: string, env: string, dflt: string) => flags.get(name) ?? process.env[env] ?? dflt;
  const int = (name: string, env: string, dflt: number, min: number) => {
    const v = Number(get(name, env, String(dflt)));
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return v;
  };
  const runtime = get('runtime', 'BENCH_RUNTIME', 'dist');
  if (runtime !== 'dist' && runtime !== 'tsx') throw new Error('--runtime must be dist or tsx');
  return {
    durationS: int('duration', 'BENCH_DURATION_S', 10, 1),
    users: int('users', 'BENCH_USERS', 200, 1),
    concurrency: int('concurrency', 'BENCH_CONCURRENCY', 128, 1),
    rate: int('rate', 'BENCH_RATE', 100, 1),
    workerConcurrency: int('worker-concurrency', 'WORKER_CONCURRENCY', 64, 1),
    poolSize: int('pool', 'DATABASE_POOL_SIZE', 10, 1),
    apiReplicas: int('api-replicas', 'BENCH_API_REPLICAS', 1, 1),
    tickMs: int('tick-ms', 'MARKET_TICK_MS', 500, 10),
    runtime,
    build: runtime === 'dist' && !flags.has('no-build') && !flags.has('skip-build'),
    cpuProf: flags.has('cpu-prof'),
    phases: new Set(get('phases', 'BENCH_PHASES', '1,2,3,4,5,6').split(',').map(Number)),
    warmupPerPortfolio: int('warmup', 'BENCH_WARMUP', 5, 1),
    logLevel: get('log-level', 'BENCH_LOG_LEVEL', 'warn'),
    pgbenchSeconds: int('pgbench-seconds', 'BENCH_PGBENCH_S', 10, 0),
    pgbenchClients: int('pgbench-clients', 'BENCH_PGBENCH_CLIENTS', 8, 1),
    executor: executorOption(get('executor', 'GRAPHQL_EXECUTOR', 'jit')),
    pgWaits: flags.has('pg-waits'),
  };
}

/** Place `perPortfolio` orders in each portfolio, retrying until the market has quotes. */
async function warmUp(place: Placer, portfolios: number, perPortfolio: number, prefix: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const deadline = performance.now() + 60_000;
  await Promise.all(
    Array.from({ length: portfolios }, async (_, p) => {
      for (let i = 0; i < perPortfolio; i++) {
        const id = `${prefix}${p * perPortfolio + i}`;
        for (;;) {
          const r = await place(p, id);
          if (r.ok) break;
          if (performance.now() > deadline) throw new Error(`warm-up order kept failing: ${r.code}`);
          await sleep(200); // no quote yet (NO_MARKET_PRICE) right after start
        }
        ids.add(id);
      }
    }),
  );
  return ids;
}

/** Tag this run's Postgres backends in `roles`, so their CPU is told apart from other databases'. */
async function tagBackends(sql: Sql, database: string, roles: Map<number, string>): Promise<void> {
  for (const pid of await backendPids(sql, database)) if (!roles.has(pid)) roles.set(pid, 'pg backends');
}

/** Sum of Redis command calls (INFO commandstats). The server is shared, so this is approximate. */
async function redisCalls(redisUrl: string): Promise<number> {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    const info = await r.info('commandstats');
    let calls = 0;
    for (const m of info.matchAll(/calls=(\d+)/g)) calls += Number(m[1]);
    return calls;
  } finally {
    r.disconnect();
  }
}

interface ThroughputFigures {
  placed: number;
  placedPerS: number;
  filledPerS: number;
  placeLatency: Summary;
  errors: Map<string, number>;
  cpuPlacing?: CpuUsage;
  cpuAll?: CpuUsage;
  redisPerOrder: number;
  drained: boolean;
}

function throughputFigures(load: LoadResult, lastFillAt: number | null, filled: number): Omit<ThroughputFigures, 'cpuPlacing' | 'cpuAll' | 'redisPerOrder' | 'drained'> {
  const placeSeconds = (load.lastAnswer - load.firstStart) / 1000;
  const fillSeconds = lastFillAt ? (lastFillAt - load.firstStart) / 1000 : Number.NaN;
  return {
    placed: load.accepted.length,
    placedPerS: load.accepted.length / placeSeconds,
    filledPerS: filled / fillSeconds,
    placeLatency: summarize(load.accepted.map((a) => a.answeredAt - a.startedAt)),
    errors: load.errors,
  };
}

interface LatencyFigures {
  e2e: Summary;
  mutation: Summary;
  achievedRate: number;
  errors: Map<string, number>;
  cpu?: CpuUsage;
}

/** An open-loop phase's figures: mutation start → first fillReceived, the mutation's own answer, the rate achieved. */
function latencyFigures(load: LoadResult, firstFillAt: ReadonlyMap<string, number>, cpu: CpuUsage): LatencyFigures {
  const e2e = load.accepted.flatMap((a) => {
    const at = firstFillAt.get(a.clientOrderId);
    return at === undefined ? [] : [at - a.startedAt];
  });
  const starts = load.accepted.map((a) => a.startedAt);
  return {
    e2e: summarize(e2e),
    mutation: summarize(load.accepted.map((a) => a.answeredAt - a.startedAt)),
    achievedRate: (starts.length - 1) / ((Math.max(...starts) - Math.min(...starts)) / 1000),
    errors: load.errors,
    cpu,
  };
}

/** CPU milliseconds per order of each process group over a phase. */
function cpuMsPerOrder(u: CpuUsage | undefined, orders: number): Record<string, number> {
  if (!u || orders === 0) return {};
  return Object.fromEntries(Object.entries(u.cores).map(([g, cores]) => [g, (cores * u.seconds * 1000) / orders]));
}

function cpuTable(title: string, usages: [string, CpuUsage | undefined][]): string {
  const groups = ['api', 'worker', 'embedded', 'bench', 'pg backends', 'postgres', 'redis', 'other'];
  const rows = groups.map((g) => [g, ...usages.map(([, u]) => (u ? (u.cores[g] ?? 0).toFixed(2) : '—'))]);
  rows.push(['machine (busy cores of 2)', ...usages.map(([, u]) => (u ? u.machine.toFixed(2) : '—'))]);
  return `${title}\n${table(['CPU, cores used', ...usages.map(([n]) => n)], rows)}`;
}

function verificationLines(name: string, v: Verification): string {
  const status = v.ok ? 'OK' : 'FAIL';
  const base = `${name}: ${status} — ${v.filled}/${v.inDb} orders FILLED (${v.accepted} acknowledged), lost ${v.lost}, duplicated ${
    v.duplicateBrokerOrders + v.duplicateBrokerFills + v.duplicateFills + v.duplicateTradeLines
  }${v.eventsMissing !== undefined ? `, fillReceived missing ${v.eventsMissing} / duplicated ${v.eventsDuplicated}` : ''}`;
  return v.ok ? base : `${base}\n    ${v.problems.join('\n    ')}`;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  // Postgres and Redis serve phases 1-3 and pgbench; the embedded phases (4-6) run without them.
  const scaledPhases = [1, 2, 3].filter((p) => o.phases.has(p));
  const env = requireEnv({ required: scaledPhases.length > 0, why: `${scaledPhases.length > 1 ? 'phases' : 'phase'} ${scaledPhases.join(', ')}` });
  if (!env.databaseUrl && o.pgbenchSeconds > 0) {
    console.log('  pgbench: skipped (no DATABASE_URL; the embedded phases need none)');
    o.pgbenchSeconds = 0;
  }
  const durationMs = o.durationS * 1000;
  console.log(
    `bench:orders — ${o.users} users/portfolios, ${o.concurrency} closed-loop clients, ${o.durationS} s per phase, open loop ${o.rate}/s, ` +
      `worker concurrency ${o.workerConcurrency}, DB pool ${o.poolSize}/process, market tick ${o.tickMs} ms, runtime ${o.runtime}, executor ${o.executor}` +
      `${o.cpuProf ? ', --cpu-prof' : ''}\n  logs: ${LOG_DIR}`,
  );
  if (o.build && [1, 2, 5, 6].some((p) => o.phases.has(p))) buildDist();

  let pgbench: PgbenchResult | undefined;
  let pgbenchError: string | undefined;
  if (o.pgbenchSeconds > 0) {
    console.log(`  pgbench: TPC-B-like, ${o.pgbenchClients} clients, ${o.pgbenchSeconds} s, scratch database…`);
    pgbench = await runPgbench(env.databaseUrl, { seconds: o.pgbenchSeconds, clients: o.pgbenchClients }).catch((err: unknown) => {
      pgbenchError = (err as Error).message;
      return undefined;
    });
  }

  let wake: WakeCost | undefined;
  try {
    wake = await measureWakeCost();
  } catch (err) {
    console.error(`  wake-cost calibration did not run: ${(err as Error).message}`);
  }

  const failures: string[] = [];
  const warnings: string[] = [];
  const verifications: [string, Verification][] = [];
  /** Event-loop delay of api and worker per GraphQL phase (see bench/lib/loop-delay.ts). */
  const loopDelays: [string, Record<string, LoopDelay | undefined>][] = [];
  let p1: ThroughputFigures | undefined;
  let pgWaits: { what: string; backends: number }[] | undefined;
  let p2: (LatencyFigures & { stages: Record<string, Summary> }) | undefined;
  let p3: (ThroughputFigures & { redisSentPerOrder: number; redisKinds: string; statementsPerOrder: number; transactionsPerOrder: number; statementKinds: string; backgroundPerS: number; cpuPerOrder: Record<string, number> }) | undefined;
  let profiles: string[] = [];
  let idleCpu: CpuUsage | undefined;
  const rolePids = new Map<number, string>();
  const profDir = path.join(LOG_DIR, 'prof');

  /** The product over GraphQL as the options ask: scaled (api + worker) or embedded (npm start's one process). */
  const graphqlPath = (embedded: boolean) =>
    new GraphqlPath(env, {
      runtime: o.runtime,
      users: o.users,
      workerConcurrency: o.workerConcurrency,
      poolSize: o.poolSize,
      tickMs: o.tickMs,
      nodeArgs: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
      logLevel: o.logLevel,
      extraEnv: { GRAPHQL_EXECUTOR: o.executor },
      embedded,
      apiReplicas: o.apiReplicas,
    });

  // ---------------------------------------------------------------- GraphQL path (phases 1 and 2)
  if (o.phases.has(1) || o.phases.has(2)) {
    const g = graphqlPath(false);
    let sql: Sql | undefined;
    try {
      const t0 = performance.now();
      await g.start(Math.max(o.concurrency, 64));
      for (const a of g.apis) rolePids.set(a.pid, 'api');
      rolePids.set(g.worker.pid, 'worker');
      const loop = new LoopDelayProbe(g.metricsTargets);
      await g.setUp();
      sql = openSql(g.db.url);
      // Every api replica counts as "api".
      const roles = new Map([...g.apis.map((a) => [a.pid, 'api'] as [number, string]), [g.worker.pid, 'worker'], [process.pid, 'bench']]);
      await tagBackends(sql, g.db.name, roles);
      const warm = await warmUp(g.place, o.users, o.warmupPerPortfolio, 'w-');
      if (!(await g.fills.waitFor('w-', warm.size, 60_000))) throw new Error(`warm-up: only ${g.fills.seen('w-')}/${warm.size} fills reached the subscribers`);
      console.log(`  api + worker up, ${o.users} users set up and warmed (${warm.size} orders) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      verifications.push(['warm-up (GraphQL)', await verifyPhase(sql, 'w-', warm, g.fills.counts)]);
      // What api and worker cost with no orders flowing (market feed, matching passes, relay, reconciler).
      const i0 = cpuSnapshot();
      await sleep(3000);
      idleCpu = cpuBetween(i0, cpuSnapshot(), roles);

      if (o.phases.has(1)) {
        console.log(`  phase 1: ${o.concurrency} clients for ${o.durationS} s…`);
        const redis0 = await redisCalls(env.redisUrl);
        await loop.start();
        const c0 = cpuSnapshot();
        const load = await closedLoop({ place: g.place, concurrency: o.concurrency, durationMs, portfolios: o.users, idPrefix: 't-' });
        loopDelays.push(['phase 1 placing', await loop.end()]);
        await tagBackends(sql, g.db.name, roles);
        const c1 = cpuSnapshot();
        const drained = await g.fills.waitFor('t-', load.accepted.length, DRAIN_TIMEOUT_MS);
        await tagBackends(sql, g.db.name, roles);
        const c2 = cpuSnapshot();
        const redis1 = await redisCalls(env.redisUrl);
        const db = await waitAllFilled(sql, 't-', load.accepted.length, drained ? 5_000 : 1_000);
        const ids = new Set(load.accepted.map((a) => a.clientOrderId));
        p1 = {
          ...throughputFigures(load, drained ? g.fills.lastAt : null, g.fills.seen('t-')),
          cpuPlacing: cpuBetween(c0, c1, roles),
          cpuAll: cpuBetween(c0, c2, roles),
          redisPerOrder: (redis1 - redis0) / Math.max(1, db.filled),
          drained,
        };
        verifications.push(['phase 1 (GraphQL, closed loop)', await verifyPhase(sql, 't-', ids, g.fills.counts)]);
        await sleep(1000);
      }

      if (o.phases.has(2)) {
        console.log(`  phase 2: open loop at ${o.rate}/s for ${o.durationS} s…`);
        await loop.start();
        // Opt-in: sampling pg_stat_activity every 10 ms is itself 100 queries a second on the measured
        // Postgres (a backend and the bench woken each time), which perturbs the latency it explains.
        const waitSql = o.pgWaits ? openSql(g.db.url) : undefined;
        const waits = waitSql ? new PgWaitSampler(waitSql, g.db.name, 10) : undefined;
        waits?.start();
        const c0 = cpuSnapshot();
        const load = await openLoop({ place: g.place, ratePerSecond: o.rate, durationMs, portfolios: o.users, idPrefix: 'l-' });
        pgWaits = await waits?.stop();
        await waitSql?.end();
        await g.fills.waitFor('l-', load.accepted.length, DRAIN_TIMEOUT_MS);
        loopDelays.push([`phase 2 (${o.rate}/s)`, await loop.end()]);
        await tagBackends(sql, g.db.name, roles);
        const c1 = cpuSnapshot();
        const ids = new Set(load.accepted.map((a) => a.clientOrderId));
        const times = await serverTimes(sql, 'l-');
        const jobs = await submitJobTimes(g.redisUrl, g.prefix);
        const stages = {
          toOrderRow: [] as number[],
          toBroker: [] as number[],
          toJob: [] as number[],
          toPickUp: [] as number[],
          toSubmitted: [] as number[],
          toFill: [] as number[],
          toClient: [] as number[],
        };
        for (const a of load.accepted) {
          const at = g.fills.firstAt.get(a.clientOrderId);
          if (at === undefined) continue;
          const t = times.get(a.clientOrderId);
          if (t) {
            stages.toOrderRow.push(t.order - a.startedAt);
            stages.toBroker.push(t.broker - t.order);
            const j = jobs.get(t.id);
            if (j) {
              stages.toJob.push(j.added - t.order);
              stages.toPickUp.push(j.picked - j.added);
              stages.toSubmitted.push(t.broker - j.picked);
            }
            stages.toFill.push(t.fill - t.broker);
            stages.toClient.push(at - t.fill);
          }
        }
        p2 = {
          ...latencyFigures(load, g.fills.firstAt, cpuBetween(c0, c1, roles)),
          stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, summarize(v)])),
        };
        verifications.push(['phase 2 (GraphQL, open loop)', await verifyPhase(sql, 'l-', ids, g.fills.counts)]);
      }
      if (g.subscriptionErrors.length) failures.push(`subscription errors: ${g.subscriptionErrors.slice(0, 3).join('; ')}`);
    } catch (err) {
      failures.push(`GraphQL path broke: ${(err as Error).stack ?? String(err)}`);
    } finally {
      await sql?.end();
      const codes = await g.stop();
      // Not an integrity failure, but worth seeing: a role that does not drain on SIGTERM in time.
      if (codes.api !== 0 || codes.worker !== 0) warnings.push(`api/worker exit codes after SIGTERM: ${codes.api}/${codes.worker} (0 = drained cleanly); logs in ${LOG_DIR}`);
      await g.cleanUp().catch((err: unknown) => console.error('cleanup failed:', err));
    }
    if (o.cpuProf && existsSync(profDir)) profiles = readdirSync(profDir).map((f) => path.join(profDir, f));
  }

  // ---------------------------------------------------------------- embedded, end to end (phases 5 and 6)
  let p5: ThroughputFigures | undefined;
  let p6: LatencyFigures | undefined;
  if (o.phases.has(5) || o.phases.has(6)) {
    const g = graphqlPath(true);
    // The phases' ids and fill events, checked in SQL once the server has stopped and its files are free.
    const checks: [string, string, Set<string>][] = [];
    try {
      const t0 = performance.now();
      await g.start(Math.max(o.concurrency, 64));
      rolePids.set(g.api.pid, 'embedded');
      const roles = new Map([
        [g.api.pid, 'embedded'],
        [process.pid, 'bench'],
      ]);
      const loop = new LoopDelayProbe(g.metricsTargets);
      await g.setUp();
      const warm = await warmUp(g.place, o.users, o.warmupPerPortfolio, 'ew-');
      if (!(await g.fills.waitFor('ew-', warm.size, 60_000))) throw new Error(`embedded warm-up: only ${g.fills.seen('ew-')}/${warm.size} fills reached the subscribers`);
      checks.push(['warm-up (embedded, GraphQL)', 'ew-', warm]);
      console.log(`  embedded server (npm start's mode) up, ${o.users} users set up and warmed (${warm.size} orders) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

      if (o.phases.has(5)) {
        console.log(`  phase 5 (embedded): ${o.concurrency} clients for ${o.durationS} s…`);
        await loop.start();
        const c0 = cpuSnapshot();
        const load = await closedLoop({ place: g.place, concurrency: o.concurrency, durationMs, portfolios: o.users, idPrefix: 'e-' });
        loopDelays.push(['phase 5 placing', await loop.end()]);
        const c1 = cpuSnapshot();
        const drained = await g.fills.waitFor('e-', load.accepted.length, DRAIN_TIMEOUT_MS);
        p5 = {
          ...throughputFigures(load, drained ? g.fills.lastAt : null, g.fills.seen('e-')),
          cpuPlacing: cpuBetween(c0, c1, roles),
          cpuAll: cpuBetween(c0, cpuSnapshot(), roles),
          redisPerOrder: Number.NaN,
          drained,
        };
        checks.push(['phase 5 (embedded, GraphQL, closed loop)', 'e-', new Set(load.accepted.map((a) => a.clientOrderId))]);
        await sleep(1000);
      }

      if (o.phases.has(6)) {
        console.log(`  phase 6 (embedded): open loop at ${o.rate}/s for ${o.durationS} s…`);
        await loop.start();
        const c0 = cpuSnapshot();
        const load = await openLoop({ place: g.place, ratePerSecond: o.rate, durationMs, portfolios: o.users, idPrefix: 'el-' });
        await g.fills.waitFor('el-', load.accepted.length, DRAIN_TIMEOUT_MS);
        loopDelays.push([`phase 6 (${o.rate}/s)`, await loop.end()]);
        p6 = latencyFigures(load, g.fills.firstAt, cpuBetween(c0, cpuSnapshot(), roles));
        checks.push(['phase 6 (embedded, GraphQL, open loop)', 'el-', new Set(load.accepted.map((a) => a.clientOrderId))]);
      }
      if (g.subscriptionErrors.length) failures.push(`embedded subscription errors: ${g.subscriptionErrors.slice(0, 3).join('; ')}`);
    } catch (err) {
      failures.push(`embedded GraphQL path broke: ${(err as Error).stack ?? String(err)}`);
    }
    try {
      const codes = await g.stop();
      if (codes.api !== 0) warnings.push(`embedded server exit code after SIGTERM: ${codes.api} (0 = drained cleanly); log in ${LOG_DIR}`);
      if (checks.length) {
        // The server's PGlite files, opened here now that it has stopped: the same SQL checks as phases 1-2.
        const handle = await openDb({ dataDir: g.dataDir });
        try {
          const sqlOf = ((strings: TemplateStringsArray, ...values: unknown[]) =>
            handle.db.execute(drizzleSql(strings, ...values)).then((r) => (r as unknown as { rows: unknown[] }).rows)) as unknown as Sql;
          for (const [name, prefix, ids] of checks) verifications.push([name, await verifyPhase(sqlOf, prefix, ids, g.fills.counts)]);
        } finally {
          await handle.close();
        }
      }
    } catch (err) {
      failures.push(`embedded checks broke: ${(err as Error).stack ?? String(err)}`);
    } finally {
      await g.cleanUp().catch((err: unknown) => console.error('cleanup failed:', err));
    }
    if (o.cpuProf && existsSync(profDir)) profiles = readdirSync(profDir).map((f) => path.join(profDir, f));
  }

  // ---------------------------------------------------------------- plumbing path (phase 3; phase 4 embedded)
  type PlumbingFigures = ThroughputFigures & { redisSentPerOrder: number; redisKinds: string; statementsPerOrder: number; transactionsPerOrder: number; statementKinds: string; backgroundPerS: number; cpuPerOrder: Record<string, number> };
  const runPlumbing = async (embedded: boolean): Promise<PlumbingFigures | undefined> => {
    const label = embedded ? 'phase 4 (embedded: PGlite, in-process queue)' : 'phase 3 (plumbing)';
    const pl = new PlumbingPath(env, { users: o.users, workerConcurrency: o.workerConcurrency, poolSize: o.poolSize, tickMs: o.tickMs, embedded });
    const redisCount = async () => (embedded ? 0 : redisCalls(env.redisUrl));
    let out: PlumbingFigures | undefined;
    try {
      console.log(`  ${label}: in process, ${o.concurrency} clients for ${o.durationS} s…`);
      await pl.start();
      const sql = pl.verifySql;
      const roles = new Map([[process.pid, 'bench']]);
      const tag = async () => {
        if (!embedded) await tagBackends(sql, pl.db.name, roles);
      };
      await tag();
      const warm = await warmUp(pl.place, o.users, o.warmupPerPortfolio, 'w-');
      await waitAllFilled(sql, 'w-', warm.size, 60_000);
      verifications.push([`warm-up (${label})`, await verifyPhase(sql, 'w-', warm)]);
      // What the market feed, matching passes, relay and reconciler cost with no orders flowing.
      const idle0 = pl.statements.snapshot();
      const idleRedis0 = pl.redisCommands.total;
      await sleep(2000);
      const backgroundRedisPerS = (pl.redisCommands.total - idleRedis0) / 2;
      const backgroundPerS = (pl.statements.total - idle0.total) / 2;
      const backgroundBeginsPerS = ((pl.statements.byKind.get('begin') ?? 0) - (idle0.byKind.get('begin') ?? 0)) / 2;

      const r0 = pl.redisCommands.snapshot();
      const idleR0 = r0.total;
      const s0 = pl.statements.snapshot();
      const redis0 = await redisCount();
      const c0 = cpuSnapshot();
      const load = await closedLoop({ place: pl.place, concurrency: o.concurrency, durationMs, portfolios: o.users, idPrefix: 't-' });
      await tag();
      const c1 = cpuSnapshot();
      const db = await waitAllFilled(sql, 't-', load.accepted.length, DRAIN_TIMEOUT_MS);
      await tag();
      const c2 = cpuSnapshot();
      const redis1 = await redisCount();
      const s1 = pl.statements.snapshot();
      const r1 = pl.redisCommands.snapshot();
      if (pl.statements.byText) {
        console.log(`  statements per filled order by text (${label}, background included):`);
        for (const [text, n] of [...pl.statements.byText].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
          console.log(`    ${(n / Math.max(1, load.accepted.length)).toFixed(3)}  ${text}`);
        }
      }
      const elapsedS = (c2.at - c0.at) / 1000;
      const perOrder = embedded ? Number.NaN : (s1.total - s0.total - backgroundPerS * elapsedS) / Math.max(1, db.filled);
      const kinds = [...s1.byKind]
        .map(([k, n]) => [k, (n - (s0.byKind.get(k) ?? 0)) / Math.max(1, db.filled)] as const)
        .filter(([, n]) => n >= 0.05)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n.toFixed(1)}`)
        .join(', ');
      const drained = db.filled === db.total && db.filled >= load.accepted.length;
      const begins = (s1.byKind.get('begin') ?? 0) - (s0.byKind.get('begin') ?? 0) - backgroundBeginsPerS * elapsedS;
      const cpuAll = cpuBetween(c0, c2, roles);
      out = {
        ...throughputFigures(load, drained ? db.lastFillAt : null, db.filled),
        transactionsPerOrder: embedded ? Number.NaN : begins / Math.max(1, db.filled),
        redisSentPerOrder: embedded ? Number.NaN : (r1.total - idleR0 - backgroundRedisPerS * elapsedS) / Math.max(1, db.filled),
        redisKinds: [...r1.byName]
          .map(([k, n]) => [k, (n - (r0.byName.get(k) ?? 0)) / Math.max(1, db.filled)] as const)
          .filter(([, n]) => n >= 0.05)
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `${k} ${n.toFixed(1)}`)
          .join(', '),
        cpuPerOrder: cpuMsPerOrder(cpuAll, db.filled),
        cpuPlacing: cpuBetween(c0, c1, roles),
        cpuAll,
        redisPerOrder: embedded ? Number.NaN : (redis1 - redis0) / Math.max(1, db.filled),
        drained,
        statementsPerOrder: perOrder,
        statementKinds: kinds,
        backgroundPerS,
      };
      verifications.push([label, await verifyPhase(sql, 't-', new Set(load.accepted.map((a) => a.clientOrderId)))]);
    } catch (err) {
      failures.push(`${label} broke: ${(err as Error).stack ?? String(err)}`);
    } finally {
      await pl.stop();
      await pl.cleanUp().catch((err: unknown) => console.error('cleanup failed:', err));
    }
    return out;
  };
  if (o.phases.has(3)) p3 = await runPlumbing(false);
  const p4 = o.phases.has(4) ? await runPlumbing(true) : undefined;

  // ---------------------------------------------------------------- report
  const out: string[] = ['', '=== bench:orders ==='];
  const pass = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const rows: string[][] = [];
  /** An open-loop phase's rows; `phase` labels the latency rows, `short` the placeOrder row. */
  const latencyRows = (phase: string, short: string, p: LatencyFigures) => {
    rows.push([`${phase} achieved open-loop rate`, rate(p.achievedRate), '', '']);
    for (const q of ['p50', 'p90', 'p99', 'max'] as const)
      rows.push([`${phase} start → fillReceived ${q}`, ms(p.e2e[q]), ...(q === 'p99' ? [`< ${TARGET_P99_MS} ms`, pass(p.e2e.p99 < TARGET_P99_MS)] : ['', ''])]);
    rows.push([`${short} placeOrder response p50 / p99`, `${ms(p.mutation.p50)} / ${ms(p.mutation.p99)}`, '', '']);
  };
  if (p1) {
    rows.push(['phase 1  placed over GraphQL', rate(p1.placedPerS), '', '']);
    rows.push(['phase 1  filled (first placement → last fillReceived)', rate(p1.filledPerS), `>= ${TARGET_THROUGHPUT}/s`, pass(p1.drained && p1.filledPerS >= TARGET_THROUGHPUT)]);
    rows.push(['phase 1  placeOrder latency p50 / p99', `${ms(p1.placeLatency.p50)} / ${ms(p1.placeLatency.p99)}`, '', '']);
  }
  if (p2) latencyRows('phase 2 ', 'phase 2 ', p2);
  if (p3) {
    rows.push(['phase 3  plumbing placed (no GraphQL)', rate(p3.placedPerS), '', '']);
    rows.push(['phase 3  plumbing filled', rate(p3.filledPerS), '', '']);
    rows.push(['phase 3  place() latency p50 / p99', `${ms(p3.placeLatency.p50)} / ${ms(p3.placeLatency.p99)}`, '', '']);
  }
  if (p4) {
    rows.push(['phase 4  embedded placed (PGlite, in-process queue)', rate(p4.placedPerS), '', '']);
    rows.push(['phase 4  embedded filled', rate(p4.filledPerS), `>= ${TARGET_THROUGHPUT}/s`, pass(p4.drained && p4.filledPerS >= TARGET_THROUGHPUT)]);
    rows.push(['phase 4  place() latency p50 / p99', `${ms(p4.placeLatency.p50)} / ${ms(p4.placeLatency.p99)}`, '', '']);
    rows.push(['phase 4  CPU ms per order (one process, database included)', (p4.cpuPerOrder.bench ?? Number.NaN).toFixed(2), '', '']);
  }
  if (p5) {
    rows.push(['phase 5  embedded placed over GraphQL (npm start: one process, PGlite)', rate(p5.placedPerS), '', '']);
    rows.push(['phase 5  embedded filled (first placement → last fillReceived)', rate(p5.filledPerS), `>= ${TARGET_THROUGHPUT}/s`, pass(p5.drained && p5.filledPerS >= TARGET_THROUGHPUT)]);
    rows.push(['phase 5  placeOrder latency p50 / p99', `${ms(p5.placeLatency.p50)} / ${ms(p5.placeLatency.p99)}`, '', '']);
    const cpu = cpuMsPerOrder(p5.cpuAll, p5.placed).embedded;
    rows.push(['phase 5  CPU ms per order (the one process, database included)', cpu === undefined ? '—' : cpu.toFixed(2), '', '']);
  }
  if (p6) latencyRows('phase 6  embedded', 'phase 6 ', p6);
  if (p1 && p3) {
    rows.push(['ratio GraphQL / plumbing, placed/s', (p1.placedPerS / p3.placedPerS).toFixed(2), '', '']);
    rows.push(['ratio GraphQL / plumbing, filled/s', (p1.filledPerS / p3.filledPerS).toFixed(2), '', '']);
  }
  if (pgbench) {
    rows.push([`pgbench TPC-B-like, same server (${pgbench.clients} clients, ${pgbench.seconds} s)`, `${pgbench.tps.toFixed(0)} TPS`, '', '']);
    if (p1) rows.push(['phase 1  filled orders/s per pgbench TPS', (p1.filledPerS / pgbench.tps).toFixed(3), '', '']);
    if (p3) rows.push(['phase 3  filled orders/s per pgbench TPS', (p3.filledPerS / pgbench.tps).toFixed(3), '', '']);
  } else if (pgbenchError) {
    warnings.push(`pgbench did not run: ${pgbenchError}`);
  }
  if (wake) {
    rows.push([
      'machine: CPU per Node-to-Node loopback round trip, 10 ms apart / back to back',
      `${wake.paced.toFixed(0)} / ${wake.flatOut.toFixed(0)} µs`,
      '',
      '',
    ]);
  }
  const lostOrDup = verifications.some(([, v]) => !v.ok);
  rows.push(['lost / duplicated orders (all phases)', lostOrDup ? 'SOME' : '0 / 0', '0 / 0', lostOrDup ? 'FAIL' : 'PASS']);
  out.push(table(['figure', 'measured', 'target', ''], rows));

  if (p1?.errors.size || p2?.errors.size || p3?.errors.size || p5?.errors.size || p6?.errors.size) {
    const e = (m?: Map<string, number>) => (m && m.size ? [...m].map(([k, n]) => `${k}×${n}`).join(', ') : 'none');
    out.push('', `rejected placements — phase 1: ${e(p1?.errors)}; phase 2: ${e(p2?.errors)}; phase 3: ${e(p3?.errors)}; phase 5: ${e(p5?.errors)}; phase 6: ${e(p6?.errors)}`);
  }
  if (p2) {
    const st = p2.stages;
    out.push(
      '',
      `phase 2 stage breakdown (server timestamps, ms resolution; the submit jobs' BullMQ timestamps found for ${st.toJob.n} of ${st.toBroker.n} orders):`,
      table(
        ['stage', 'p50', 'p90', 'p99'],
        [
          ['client start → order row (HTTP, auth, reads before the transaction)', st.toOrderRow],
          ['order row → broker order (place tx, enqueue, submit job: PENDING→SUBMITTING)', st.toBroker],
          ['  of which: order row → submit job added (the placement transaction, in the api)', st.toJob],
          ['  of which: submit job added → picked up by a worker (BullMQ)', st.toPickUp],
          ['  of which: picked up → broker order (order read, SUBMITTING transaction, broker call)', st.toSubmitted],
          ['broker order → fill row (broker tx, fill event, apply-fill enqueue + pick-up)', st.toFill],
          ['fill row → client (apply-fill tx, publish, api stream, graphql-ws)', st.toClient],
        ].map(([name, s]) => [name as string, ms((s as Summary).p50), ms((s as Summary).p90), ms((s as Summary).p99)]),
      ),
    );
  }
  if (pgWaits?.length) {
    out.push(
      '',
      'phase 2: what this run\'s Postgres backends were doing (pg_stat_activity sampled every 10 ms; mean backends in each state):',
      table(['state', 'backends'], pgWaits.map((w) => [w.what, w.backends.toFixed(2)])),
    );
  }
  if (loopDelays.length) {
    const rows: string[][] = [];
    for (const [phase, byRole] of loopDelays)
      for (const role of Object.keys(byRole)) {
        const d = byRole[role];
        rows.push([`${phase}: ${role}`, ...(d ? [d.p50, d.p90, d.p99, d.max, d.mean].map(ms) : ['—', '—', '—', '—', '—'])]);
      }
    out.push(
      '',
      `event-loop delay (perf_hooks.monitorEventLoopDelay via /metrics; how late a ${LOOP_SAMPLE_MS} ms timer fired, i.e. what a ready callback waited):`,
      table(['process', 'p50', 'p90', 'p99', 'max', 'mean'], rows),
    );
  }
  if (p1 || p3) {
    const p1Cpu = p1 ? cpuMsPerOrder(p1.cpuAll, p1.placed) : {};
    const f = (n: number | undefined, d = 1) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));
    const costRows: string[][] = [];
    if (p3) {
      costRows.push(['SQL statements (plumbing, api + worker sides)', f(p3.statementsPerOrder), `<= ${TARGET_STATEMENTS}`, pass(p3.statementsPerOrder <= TARGET_STATEMENTS)]);
      costRows.push(['SQL transactions (plumbing)', f(p3.transactionsPerOrder), `<= ${TARGET_TRANSACTIONS}`, pass(p3.transactionsPerOrder <= TARGET_TRANSACTIONS)]);
    }
    if (p3) costRows.push(['Redis commands sent (plumbing, counted in ioredis; background subtracted)', f(p3.redisSentPerOrder), `<= ${TARGET_REDIS}`, pass(p3.redisSentPerOrder <= TARGET_REDIS)]);
    if (p1) costRows.push(['Redis commands executed (phase 1, INFO of the whole shared server, incl. Lua inner calls)', f(p1.redisPerOrder), '', '']);
    if (p3) costRows.push(['Redis commands executed (phase 3, same)', f(p3.redisPerOrder), '', '']);
    // Background (market feed, matching passes, relay polls) is amortised over few orders when the box is
    // busy: also shown with the idle rate of each process subtracted.
    const idleMs = (g: string) => (p1?.cpuAll && idleCpu ? ((idleCpu.cores[g] ?? 0) * p1.cpuAll.seconds * 1000) / Math.max(1, p1.placed) : 0);
    for (const g of ['api', 'worker', 'pg backends', 'redis'])
      if (p1) costRows.push([`CPU ms, ${g} (phase 1, until filled; idle subtracted)`, `${f(p1Cpu[g], 2)} (${f((p1Cpu[g] ?? 0) - idleMs(g), 2)})`, '', '']);
    for (const g of ['bench', 'pg backends', 'redis']) if (p3) costRows.push([`CPU ms, ${g === 'bench' ? 'api + worker in one process' : g} (phase 3)`, f(p3.cpuPerOrder[g], 2), '', '']);
    out.push('', 'cost per order (amortised):', table(['per order', 'measured', 'target', ''], costRows));
  }
  if (p3) {
    out.push(
      '',
      `plumbing cost per order: ${p3.statementsPerOrder.toFixed(1)} SQL statements (${p3.statementKinds}; background ${p3.backgroundPerS.toFixed(0)} statements/s subtracted)`,
      `Redis commands sent per order (plumbing): ${p3.redisKinds}`,
    );
  }
  const cpuCols: [string, CpuUsage | undefined][] = [];
  if (idleCpu) cpuCols.push(['idle (3 s)', idleCpu]);
  if (p1) cpuCols.push(['p1 placing', p1.cpuPlacing], ['p1 until filled', p1.cpuAll]);
  if (p2) cpuCols.push(['p2', p2.cpu]);
  if (p3) cpuCols.push(['p3 placing', p3.cpuPlacing], ['p3 until filled', p3.cpuAll]);
  if (p4) cpuCols.push(['p4 embedded until filled', p4.cpuAll]);
  if (p5) cpuCols.push(['p5 embedded until filled', p5.cpuAll]);
  if (p6) cpuCols.push(['p6 embedded', p6.cpu]);
  if (cpuCols.length) out.push('', cpuTable('CPU during the phases (from /proc; "pg backends" = this run\'s database connections, "postgres" = the server\'s other processes and databases, "other" = anything else on the machine):', cpuCols));
  for (const f of profiles.filter((f) => f.endsWith('.cpuprofile'))) {
    const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(f)?.[1]);
    out.push('', `CPU profile of ${rolePids.get(pid) ?? 'pid ' + pid} (${f}):`, summarizeProfile(f));
  }
  out.push('', 'integrity checks (SQL on each phase database):', ...verifications.map(([n, v]) => '  ' + verificationLines(n, v)));
  if (warnings.length) out.push('', 'warnings:', ...warnings.map((w) => '  ' + w));
  if (failures.length) out.push('', 'FAILURES:', ...failures.map((f) => '  ' + f));
  console.log(out.join('\n'));
  process.exitCode = lostOrDup || failures.length ? 1 : 0;
}

main().then(
  // Exit explicitly: a stray handle in a library must not keep a finished benchmark alive.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
