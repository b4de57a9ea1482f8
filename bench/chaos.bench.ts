/**
 * bench:chaos: faults under a steady load of orders, on a Postgres and a Redis of the bench's own.
 *
 * One `api` and two `worker` processes (compiled, as production runs them) take market buys over GraphQL
 * at a steady rate. Then: SIGKILL a worker 20 times (alternating, each restarted at once, as a supervisor
 * would), crash and restart Redis (SIGKILL; AOF on, as in docker-compose), crash and restart Postgres
 * (`pg_ctl stop -m immediate`: WAL recovery on start). For each fault it prints the time until orders flow
 * again: from the fault until an order placed after it is FILLED (target ≤ 10 s). At the end, with the
 * load stopped and the system drained, SQL checks: every accepted order exists once and is in a terminal
 * state reached exactly once, fills = filled quantities (platform and paper exchange agree), cash = the
 * ledger, no open hold.
 *
 * Ports (the "money" range): api 4200, workers 4201/4202, Postgres 4210, Redis 4211. Bounded: the run
 * aborts after --max-minutes (default 8). Flags: --runtime=dist|tsx, --no-build, --rate=N (orders/s),
 * --kills=N.
 */
import { randomUUID } from 'node:crypto';
import { GqlHttp } from './lib/gql-client.js';
import { BENCH_ENCRYPTION_KEY, BENCH_JWT_SECRET, SYMBOLS } from './lib/graphql-path.js';
import { OwnPostgres, OwnRedis } from './lib/own-services.js';
import { buildDist, LOG_DIR, runToCompletion, startRole, tail, waitReady, type RoleProcess, type Runtime } from './lib/processes.js';
import { ms, sleep, summarize, table } from './lib/stats.js';
import { openSql, type Sql } from './lib/verify.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const RUNTIME = arg('runtime', 'dist') as Runtime;
const RATE = Number(arg('rate', '2'));
const KILLS = Number(arg('kills', '20'));
const MAX_MINUTES = Number(arg('max-minutes', '8'));
const USERS = 4;
const PORTS = { api: 4200, workers: [4201, 4202], pg: 4210, redis: 4211 };
const RECOVERY_TIMEOUT_MS = 60_000;
const TARGET_MS = 10_000;

const PLACE = `mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id status } }`;

interface Accepted {
  id: string;
  clientOrderId: string;
}

class Load {
  readonly accepted: Accepted[] = [];
  readonly refused = new Map<string, number>();
  private running = false;
  private inFlight = 0;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly http: GqlHttp,
    private readonly accounts: { token: string; portfolioId: string }[],
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      let n = 0;
      const started = performance.now();
      while (this.running) {
        const due = started + (n * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        // Open loop, but bounded: a stalled API must not pile up thousands of requests.
        if (this.inFlight < 50) void this.placeOne(n);
        n++;
      }
    })();
  }

  private async placeOne(n: number): Promise<void> {
    const a = this.accounts[n % this.accounts.length];
    const clientOrderId = `chaos-${randomUUID()}`;
    const input = { portfolioId: a.portfolioId, symbol: SYMBOLS[n % SYMBOLS.length], exchange: 'NSE', side: 'BUY', type: 'MARKET', quantity: '1', clientOrderId };
    this.inFlight++;
    try {
      const r = await this.http.request<{ placeOrder: { id: string } }>(PLACE, { i: input }, a.token);
      if (r.data?.placeOrder?.id) this.accepted.push({ id: r.data.placeOrder.id, clientOrderId });
      else this.count(r.errors?.[0]?.extensions?.code ?? `HTTP_${r.status}`);
    } catch (err) {
      this.count(`NETWORK_${(err as NodeJS.ErrnoException).code ?? 'ERROR'}`);
    } finally {
      this.inFlight--;
    }
  }

  private count(code: string): void {
    this.refused.set(code, (this.refused.get(code) ?? 0) + 1);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    while (this.inFlight > 0) await sleep(50);
  }
}

/** Ms from `t0` (epoch ms) until an order created after it is FILLED, polled in SQL; null on timeout. */
async function timeToFlow(sql: Sql, t0: number): Promise<number | null> {
  const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const [r] = await sql<{ at: number | null }[]>`
        select (extract(epoch from min(closed_at)) * 1000)::float8 as at from orders
        where status = 'FILLED' and created_at >= to_timestamp(${t0 / 1000})`;
      if (r.at !== null) return Math.max(0, r.at - t0);
    } catch {
      // Postgres restarting: keep asking.
    }
    await sleep(100);
  }
  return null;
}

async function main(): Promise<void> {
  const hardStop = setTimeout(() => {
    console.error(`\nchaos: aborted after ${MAX_MINUTES} min (bounded run)`);
    process.exitCode = 1;
    void cleanUp().finally(() => process.exit(1));
  }, MAX_MINUTES * 60_000);
  hardStop.unref();

  console.log(`chaos: own Postgres on 127.0.0.1:${PORTS.pg}, own Redis on 127.0.0.1:${PORTS.redis}; logs in ${LOG_DIR}`);
  pg = new OwnPostgres(PORTS.pg);
  await pg.init();
  redis = new OwnRedis(PORTS.redis);
  await redis.start();
  if (RUNTIME === 'dist' && !process.argv.includes('--no-build')) buildDist();

  const env: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: pg.url,
    DATABASE_POOL_SIZE: '8',
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'chaos',
    JWT_SECRET: BENCH_JWT_SECRET,
    ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
    MARKET_TICK_MS: '500',
    WORKER_CONCURRENCY: '8',
    USER_RATE_LIMIT_PER_MINUTE: '100000000',
    ORDER_RATE_LIMIT_PER_SECOND: '1000000',
    ACCESS_TOKEN_TTL_SECONDS: '7200',
  };
  await runToCompletion(RUNTIME, 'migrate', { ...env, PORT: '0' });
  const startWorker = (i: number) => startRole(RUNTIME, 'worker', { ...env, PORT: String(PORTS.workers[i]) }, [], `worker-${i}`);
  workers = [startWorker(0), startWorker(1)];
  api = startRole(RUNTIME, 'api', { ...env, PORT: String(PORTS.api) });
  const apiUrl = `http://127.0.0.1:${PORTS.api}`;
  await Promise.all([waitReady(api, `${apiUrl}/readyz`), ...workers.map((w, i) => waitReady(w, `http://127.0.0.1:${PORTS.workers[i]}/readyz`))]);

  const http = new GqlHttp(apiUrl, 64);
  const accounts = await Promise.all(
    Array.from({ length: USERS }, async (_, i) => {
      const reg = await http.must<{ register: { accessToken: string } }>(
        `mutation($e: String!, $p: String!) { register(email: $e, password: $p, name: "Chaos") { accessToken } }`,
        { e: `chaos-${Date.now().toString(36)}-${i}@example.com`, p: 'chaos-password-123' },
      );
      const token = reg.register.accessToken;
      const p = await http.must<{ createPortfolio: { id: string } }>(`mutation { createPortfolio(name: "chaos", baseCurrency: "INR") { id } }`, {}, token);
      await http.must(`mutation($p: ID!) { deposit(portfolioId: $p, amount: "10000000") { id } }`, { p: p.createPortfolio.id }, token);
      return { token, portfolioId: p.createPortfolio.id };
    }),
  );
  const db = openSql(pg.url);
  sql = db;
  const load = new Load(http, accounts);
  load.start();
  const warm = await timeToFlow(db, Date.now());
  if (warm === null) throw new Error('orders never flowed before any fault');
  console.log(`load: ${RATE} market buys/s over GraphQL from ${USERS} users; first fill after ${ms(warm)}`);
  await sleep(2000);

  const faults: { fault: string; recoveryMs: number | null }[] = [];
  const record = async (fault: string, t0: number) => {
    const r = await timeToFlow(db, t0);
    faults.push({ fault, recoveryMs: r });
    const [b] = await db<{ active: number; lat: number | null }[]>`
      select (select count(*) from orders where status in ('PENDING','SUBMITTING','OPEN','PARTIALLY_FILLED','CANCEL_REQUESTED'))::int as active,
             (select percentile_cont(0.5) within group (order by extract(epoch from closed_at - created_at) * 1000)
                from orders where status = 'FILLED' and closed_at > now() - interval '10 seconds')::float8 as lat`.catch(() => [{ active: -1, lat: null }]);
    console.log(
      `  ${fault.padEnd(28)} orders flow again after ${r === null ? `> ${RECOVERY_TIMEOUT_MS / 1000} s` : ms(r)}   (active orders ${b.active}, p50 place→fill over the last 10 s ${b.lat === null ? '–' : ms(b.lat)})`,
    );
  };

  for (let k = 0; k < KILLS; k++) {
    const i = k % 2;
    const victim = workers[i];
    const t0 = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    workers[i] = startWorker(i); // restarted at once, as a supervisor would
    await record(`SIGKILL worker ${i} (#${k + 1})`, t0);
    await waitReady(workers[i], `http://127.0.0.1:${PORTS.workers[i]}/readyz`);
    await sleep(500);
  }

  let t0 = Date.now();
  await redis.crash();
  await redis.start();
  await record('Redis crash + restart', t0);
  await sleep(2000);

  t0 = Date.now();
  pg.crash();
  await pg.start();
  await record('Postgres crash + restart', t0);
  await sleep(2000);

  await load.stop();
  console.log(`\nload stopped: ${load.accepted.length} orders accepted; refused or failed requests: ${JSON.stringify(Object.fromEntries(load.refused))}`);
  const drained = await drain(db, 90_000);
  console.log(`drained: ${drained.active} orders still active after ${ms(drained.ms)}`);
  const problems = await verify(db, load.accepted);

  const times = faults.map((f) => f.recoveryMs).filter((x): x is number => x !== null);
  const s = summarize(times);
  console.log(
    '\n' +
      table(
        ['fault', 'n', 'p50', 'max', 'target', 'met'],
        [
          ['worker SIGKILL', String(KILLS), ms(summarize(times.slice(0, KILLS)).p50), ms(summarize(times.slice(0, KILLS)).max), '≤ 10 s', faults.slice(0, KILLS).every((f) => f.recoveryMs !== null && f.recoveryMs <= TARGET_MS) ? 'yes' : 'NO'],
          ...faults.slice(KILLS).map((f) => [f.fault, '1', f.recoveryMs === null ? 'timeout' : ms(f.recoveryMs), '', '≤ 10 s', f.recoveryMs !== null && f.recoveryMs <= TARGET_MS ? 'yes' : 'NO']),
        ],
      ),
  );
  console.log(`all faults: p50 ${ms(s.p50)}, max ${ms(s.max)} (${faults.length - times.length} timed out); 2 shared cores, figures are noisy`);
  console.log(problems.length ? `\nINCONSISTENT:\n  ${problems.join('\n  ')}` : '\nconsistent: every accepted order terminal exactly once, fills = filled quantities, cash = ledger, no open hold');
  http.close();
  if (problems.length) process.exitCode = 1;
}

/** Wait until no order is active (the reconciler and sync finish what the faults interrupted). */
async function drain(sql: Sql, timeoutMs: number): Promise<{ active: number; ms: number }> {
  const start = Date.now();
  for (;;) {
    const [r] = await sql<{ n: number }[]>`select count(*)::int as n from orders where status in ('PENDING','SUBMITTING','OPEN','PARTIALLY_FILLED','CANCEL_REQUESTED')`;
    if (r.n === 0 || Date.now() - start > timeoutMs) return { active: r.n, ms: Date.now() - start };
    await sleep(500);
  }
}

async function verify(sql: Sql, accepted: Accepted[]): Promise<string[]> {
  const problems: string[] = [];
  const rows = await sql<{ id: string; client_order_id: string; status: string; filled_ok: boolean; fills_ok: boolean; paper_orders: number; terminal_events: number; open_holds: number }[]>`
    select o.id::text, o.client_order_id, o.status::text as status,
      (o.filled_quantity = coalesce((select sum(quantity) from fills f where f.order_id = o.id), 0)) as filled_ok,
      ((select count(*) from fills f where f.order_id = o.id) =
       (select count(*) from paper_fills pf where pf.account = o.portfolio_id::text and pf.client_order_id = o.id::text)
       and coalesce((select sum(quantity) from paper_fills pf where pf.account = o.portfolio_id::text and pf.client_order_id = o.id::text), 0) = o.filled_quantity) as fills_ok,
      (select count(*) from paper_orders po where po.account = o.portfolio_id::text and po.client_order_id = o.id::text)::int as paper_orders,
      (select count(*) from outbox_events e where e.portfolio_id = o.portfolio_id and e.type = 'ORDER_UPDATED' and e.payload->'order'->>'id' = o.id::text
         and e.payload->'order'->>'status' in ('FILLED','CANCELED','REJECTED','EXPIRED','FAILED'))::int as terminal_events,
      (select count(*) from holds h where h.order_id = o.id and h.released_at is null)::int as open_holds
    from orders o`;
  const byClient = new Map<string, number>();
  for (const r of rows) byClient.set(r.client_order_id, (byClient.get(r.client_order_id) ?? 0) + 1);
  const statuses = new Map<string, number>();
  for (const r of rows) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  console.log(`orders in the database: ${rows.length} (${JSON.stringify(Object.fromEntries(statuses))})`);
  const count = (what: string, n: number) => n > 0 && problems.push(`${n} ${what}`);
  count('accepted orders missing from the database', accepted.filter((a) => !byClient.has(a.clientOrderId)).length);
  count('client order ids recorded more than once', [...byClient.values()].filter((n) => n > 1).length);
  count('orders not in a terminal state', rows.filter((r) => !['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'].includes(r.status)).length);
  count('terminal orders whose terminal event is not written exactly once', rows.filter((r) => r.terminal_events !== 1).length);
  count('orders whose filled quantity differs from the sum of their fills', rows.filter((r) => !r.filled_ok).length);
  count('orders whose fills differ from the paper exchange’s', rows.filter((r) => !r.fills_ok).length);
  count('orders sent to the exchange more than once', rows.filter((r) => r.paper_orders > 1).length);
  count('orders with an open hold', rows.filter((r) => r.open_holds > 0).length);
  const [m] = await sql<{ cash_bad: number; negative: number; holds: string }[]>`
    select (select count(*) from portfolios p where p.cash <> coalesce((select sum(amount) from ledger_entries l where l.portfolio_id = p.id), 0))::int as cash_bad,
           (select count(*) from portfolios p where p.cash < 0)::int as negative,
           (select coalesce(sum(amount), 0)::text from holds where released_at is null) as holds`;
  count('portfolios whose cash differs from their ledger', m.cash_bad);
  count('portfolios with negative cash', m.negative);
  if (m.holds !== '0') problems.push(`open holds total ${m.holds}`);
  return problems;
}

let pg: OwnPostgres | undefined;
let redis: OwnRedis | undefined;
let api: RoleProcess | undefined;
let workers: RoleProcess[] = [];
let sql: Sql | undefined;
let cleaned: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  return (cleaned ??= (async () => {
    await Promise.all([api?.stop(10_000), ...workers.map((w) => w.stop(10_000))]).catch(() => {});
    await sql?.end({ timeout: 2 }).catch(() => {});
    await redis?.stop().catch(() => {});
    pg?.stop();
    redis?.remove();
    pg?.remove();
  })());
}

// Whatever happens, our Postgres, Redis and processes do not outlive the run.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanUp().finally(() => process.exit(130)));
process.on('uncaughtException', (err) => {
  console.error('chaos: uncaught', err);
  void cleanUp().finally(() => process.exit(1));
});

main()
  .catch((err: unknown) => {
    console.error('chaos failed:', err);
    for (const p of [api, ...workers]) if (p) console.error(`--- ${p.role} (${p.logFile})\n${tail(p.logFile, 20)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
    process.exit();
  });
