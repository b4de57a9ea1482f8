/**
 * Basket runs with their worker SIGKILLed mid-run: an api and a worker process on real Postgres and
 * Redis. Each run's phase is ONE `basket-phase` job that moves its orders to SUBMITTING together, places
 * them at the paper exchange in one batch and acknowledges them with their fills in one transaction.
 *
 * Round 1: investments (buys only) go in over HTTP; the worker is killed the moment the database shows a
 * run order SUBMITTING (its job is between the move and the acknowledgement: placed at the exchange or
 * not), and a new worker is started. Round 2: the smallcase gets a new version and every investment is
 * rebalanced (sells first, then buys sized on what the sells raised); the second worker is killed the
 * same way and a third takes over. Afterwards: every run COMPLETED with a summary equal to its fills,
 * one exchange order per order, every exchange execution applied exactly once, each order's events
 * emitted once each, gap-free event sequences, holdings = fills, cash = ledger, no hold left open.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, newUser } from '../support/gql.js';
import { assertLedgerInvariants } from '../support/trading.js';
import { orderEventCountsSql, type OrderEventCounts } from '../support/baskets.js';
import { SCALED, dumpOutputOnFailure, startCluster, type Cluster, type ProductProcess } from './processes.js';
import { createFundedPortfolio, rows, waitForMarket } from './trading.js';
import type { Db } from '../../src/db/client.js';

const USERS = 3;
const PORTFOLIOS_PER_USER = 2;
const INVESTMENTS_PER_PORTFOLIO = 3;
const DEPOSIT = '5000000';
const AMOUNT = '60000';
const CONCURRENCY = 6;
const SETTLE_TIMEOUT_MS = 90_000;
const V1 = [
  { symbol: 'ITC', weight: '0.15' },
  { symbol: 'WIPRO', weight: '0.15' },
  { symbol: 'NTPC', weight: '0.1' },
  { symbol: 'POWERGRID', weight: '0.1' },
  { symbol: 'ONGC', weight: '0.1' },
  { symbol: 'TATASTEEL', weight: '0.1' },
  { symbol: 'SBIN', weight: '0.15' },
  { symbol: 'INFY', weight: '0.15' },
];
/** Version 2: out of ONGC and TATASTEEL (sold), more ITC and INFY, into HDFCBANK (bought). */
const V2 = [
  { symbol: 'ITC', weight: '0.2' },
  { symbol: 'WIPRO', weight: '0.15' },
  { symbol: 'NTPC', weight: '0.1' },
  { symbol: 'POWERGRID', weight: '0.1' },
  { symbol: 'SBIN', weight: '0.15' },
  { symbol: 'INFY', weight: '0.2' },
  { symbol: 'HDFCBANK', weight: '0.1' },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `actions` CONCURRENCY at a time; SIGKILLs `victim` as soon as a run order is SUBMITTING (or once
 * every action has returned, should none be caught there) and starts `replacement`. Returns the order
 * statuses seen at the kill.
 */
async function burstWithKill(db: Db, actions: (() => Promise<unknown>)[], victim: ProductProcess, replacement: () => Promise<ProductProcess>) {
  let done = false;
  let caught = false;
  const watcher = (async () => {
    while (!done) {
      const [r] = await rows<{ n: number }>(db, sql`select count(*)::int as n from basket_run_orders b join orders o on o.id = b.order_id where o.status = 'SUBMITTING'`);
      if (r.n > 0) {
        caught = true;
        return;
      }
      await sleep(5);
    }
  })();
  const next = [...actions];
  const burst = Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let a = next.shift(); a; a = next.shift()) await a();
    }),
  ).finally(() => {
    done = true;
  });
  await Promise.race([watcher, burst]);
  victim.kill('SIGKILL');
  const atKill = Object.fromEntries(
    (await rows<{ status: string; n: number }>(db, sql`select o.status, count(*)::int as n from basket_run_orders b join orders o on o.id = b.order_id group by 1`)).map((x) => [x.status, x.n]),
  );
  const started = replacement();
  await burst;
  expect((await victim.waitExit(5_000)).signal).toBe('SIGKILL');
  return { atKill, caughtSubmitting: caught, worker: await started };
}

async function waitRunsEnded(cluster: Cluster, expected: number) {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const [r] = await rows<{ runs: number; ended: number }>(
      cluster.db.db,
      sql`select count(*)::int as runs, count(*) filter (where status in ('COMPLETED', 'PARTIAL', 'FAILED'))::int as ended from basket_runs`,
    );
    if (r.runs === expected && r.ended === expected) return;
    if (Date.now() > deadline) {
      const stuck = await rows(cluster.db.db, sql`select r.id, r.status, array_agg(o.status::text) as orders from basket_runs r join basket_run_orders b on b.run_id = r.id join orders o on o.id = b.order_id where r.status not in ('COMPLETED', 'PARTIAL', 'FAILED') group by 1, 2 limit 5`);
      expect.fail(`${r.ended}/${r.runs} runs ended (expected ${expected}) ${SETTLE_TIMEOUT_MS} ms after the burst: ${JSON.stringify(stuck)}`);
    }
    await sleep(250);
  }
}

describe.runIf(SCALED)('basket runs whose worker is SIGKILLed mid-run (needs DATABASE_URL and REDIS_URL)', () => {
  let cluster: Cluster | undefined;
  let api: ProductProcess;
  let worker: ProductProcess;
  dumpOutputOnFailure(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster('bkcrash', { LOG_LEVEL: 'warn' });
    [api, worker] = await Promise.all([cluster.start('api', 'api'), cluster.start('worker', 'worker-1')]);
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('loses and doubles nothing: every run COMPLETED with its summary equal to its fills, one exchange order and one set of events per order, gap-free sequences, cash to the cent', async () => {
    const db = cluster!.db.db;
    const users = await Promise.all(Array.from({ length: USERS }, () => newUser(api, 'bkcrash')));
    const accounts = (
      await Promise.all(users.flatMap((u) => Array.from({ length: PORTFOLIOS_PER_USER }, async () => ({ token: u.token, portfolioId: await createFundedPortfolio(api, u.token, DEPOSIT) }))))
    ).flat();
    for (const c of [...V1, ...V2]) await waitForMarket(api, users[0].token, c.symbol);
    const owner = users[0].token;
    const sc = await must<{ createSmallcase: { id: string } }>(
      api,
      `mutation($i:CreateSmallcaseInput!){ createSmallcase(input:$i){ id } }`,
      { i: { name: 'crash basket', visibility: 'PUBLIC', constituents: V1 } },
      owner,
    );

    // Round 1: investments (buy phases); the worker dies with a run's orders SUBMITTING.
    const investments: { id: string; token: string }[] = [];
    const invest = accounts.flatMap((a) =>
      Array.from({ length: INVESTMENTS_PER_PORTFOLIO }, (_, k) => async () => {
        const r = await must<{ investInSmallcase: { id: string } }>(
          api,
          `mutation($s:ID!,$p:ID!,$a:Decimal!,$c:String){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:$a, clientRequestId:$c){ id } }`,
          { s: sc.createSmallcase.id, p: a.portfolioId, a: AMOUNT, c: `crash-${a.portfolioId}-${k}` },
          a.token,
        );
        investments.push({ id: r.investInSmallcase.id, token: a.token });
      }),
    );
    const r1 = await burstWithKill(db, invest, worker, () => cluster!.start('worker', 'worker-2'));
    await waitRunsEnded(cluster!, invest.length);

    // Round 2: a new version, every investment rebalanced (sell phase, then buy phase); killed again.
    await must(
      api,
      `mutation($id:ID!,$i:UpdateSmallcaseInput!){ updateSmallcase(id:$id, input:$i){ version } }`,
      { id: sc.createSmallcase.id, i: { rationale: 'out of metals and energy, into banks', constituents: V2 } },
      owner,
    );
    const rebalance = investments.map((inv) => async () => {
      await must(api, `mutation($i:ID!){ rebalanceSmallcase(investmentId:$i){ id } }`, { i: inv.id }, inv.token);
    });
    const r2 = await burstWithKill(db, rebalance, r1.worker, () => cluster!.start('worker', 'worker-3'));
    await waitRunsEnded(cluster!, invest.length + rebalance.length);

    // Every run COMPLETED, both phases of the rebalances present, every order FILLED.
    const runs = await rows<{ kind: string; status: string; n: number }>(db, sql`select kind, status, count(*)::int as n from basket_runs group by 1, 2 order by 1, 2`);
    expect(runs).toEqual([
      { kind: 'INVEST', status: 'COMPLETED', n: invest.length },
      { kind: 'REBALANCE', status: 'COMPLETED', n: rebalance.length },
    ]);
    const phases = await rows<{ phase: string; side: string; n: number }>(db, sql`select b.phase, o.side, count(*)::int as n from basket_run_orders b join orders o on o.id = b.order_id group by 1, 2 order by 1, 2`);
    expect(phases.map((p) => `${p.phase}/${p.side}`)).toEqual(['BUY/BUY', 'SELL/SELL']);
    expect(await rows(db, sql`select id, status from orders where status <> 'FILLED'`), 'orders not FILLED').toEqual([]);

    // Exactly one exchange order per order, each the one recorded, filled as recorded.
    expect(await rows(db, sql`select client_order_id from paper_orders group by 1 having count(*) > 1`)).toEqual([]);
    expect(
      await rows(
        db,
        sql`select o.id from orders o left join paper_orders po on po.client_order_id = o.id::text and po.account = o.portfolio_id::text
            where po.id is null or po.id <> o.broker_order_id or po.status <> 'FILLED' or po.filled_quantity <> o.filled_quantity`,
      ),
      'orders without their one exchange order',
    ).toEqual([]);
    expect(await rows(db, sql`select po.id from paper_orders po left join orders o on o.id::text = po.client_order_id where o.id is null`)).toEqual([]);

    // Every exchange execution applied exactly once, with its quantity, price and fee.
    expect(await rows(db, sql`select order_id, broker_fill_id from fills group by 1, 2 having count(*) > 1`)).toEqual([]);
    expect(
      await rows(
        db,
        sql`select pf.id from paper_fills pf join paper_orders po on po.id = pf.order_id
            left join fills f on f.broker_fill_id = pf.id and f.order_id::text = po.client_order_id
            where f.id is null or f.quantity <> pf.quantity or f.price <> pf.price or f.fee <> pf.fee`,
      ),
      'exchange executions not applied exactly as executed',
    ).toEqual([]);
    expect(
      await rows(db, sql`select o.id from orders o left join (select order_id, sum(quantity) as q from fills group by 1) s on s.order_id = o.id where o.filled_quantity <> coalesce(s.q, 0)`),
    ).toEqual([]);

    // The events each order emits, once each: SUBMITTING, OPEN and FILLED updates, one FILL_RECEIVED per fill.
    const events = await rows<OrderEventCounts>(db, orderEventCountsSql());
    expect(events.length).toBeGreaterThan(0);
    // OPEN at most once: a fill reported before the acknowledgement commits moves the order past it.
    const odd = events.filter((e) => e.submitting !== 1 || e.open > 1 || e.filled !== 1 || e.fillEvents !== e.fills);
    expect(odd, 'orders whose events are missing or doubled').toEqual([]);

    // Gap-free sequences per portfolio, ending at the portfolio's counter.
    expect(
      await rows(
        db,
        sql`select p.id, p.event_sequence, count(e.id)::int as n, min(e.sequence) as lo, max(e.sequence) as hi, count(distinct e.sequence)::int as distinct_n
            from portfolios p join outbox_events e on e.portfolio_id = p.id group by p.id, p.event_sequence
            having count(e.id) <> count(distinct e.sequence) or min(e.sequence) <> 1 or max(e.sequence) <> count(e.id) or max(e.sequence) <> p.event_sequence`,
      ),
      'portfolios whose event sequence has a gap or a double',
    ).toEqual([]);

    // Summaries equal to the fills; holdings equal to the net fills; money to the cent; no hold open.
    expect(
      await rows(
        db,
        sql`select r.id, o.id as order_id from basket_runs r join basket_run_orders b on b.run_id = r.id join orders o on o.id = b.order_id
            left join lateral (select coalesce(sum(f.quantity), 0) as filled from fills f where f.order_id = o.id) f on true
            where not exists (select 1 from jsonb_array_elements(r.summary) s where s->>'orderId' = o.id::text
                              and (s->>'filledQuantity')::numeric = f.filled and (s->>'quantity')::numeric = o.quantity and s->>'status' = o.status::text)`,
      ),
      'summary lines that disagree with their orders',
    ).toEqual([]);
    const [lines] = await rows<{ lines: number; orders: number }>(db, sql`select (select coalesce(sum(jsonb_array_length(summary)), 0)::int from basket_runs) as lines, (select count(*)::int from basket_run_orders) as orders`);
    expect(lines.lines).toBe(lines.orders);
    expect(
      await rows(
        db,
        sql`select h.investment_id, h.instrument_id from investment_holdings h
            left join lateral (select sum(case when o.side = 'BUY' then f.quantity else -f.quantity end) as net
                               from basket_runs r join basket_run_orders b on b.run_id = r.id join orders o on o.id = b.order_id join fills f on f.order_id = o.id
                               where r.investment_id = h.investment_id and o.instrument_id = h.instrument_id) x on true
            where h.quantity <> coalesce(x.net, 0)`,
      ),
      'holdings that differ from their fills',
    ).toEqual([]);
    for (const a of accounts) await assertLedgerInvariants(db, a.portfolioId);
    expect(
      await rows(
        db,
        sql`select p.id from portfolios p where p.cash <> ${DEPOSIT}::numeric
              - coalesce((select sum(case when o.side = 'BUY' then f.quantity * f.price + f.fee else -(f.quantity * f.price) + f.fee end)
                          from fills f join orders o on o.id = f.order_id where f.portfolio_id = p.id), 0)`,
      ),
      'portfolios whose cash is not deposit - cost of buys + proceeds of sells - fees',
    ).toEqual([]);
    expect(await rows(db, sql`select id from holds where released_at is null`), 'holds still open').toEqual([]);

    const [{ orders, fills }] = await rows<{ orders: number; fills: number }>(db, sql`select (select count(*)::int from orders) as orders, (select count(*)::int from fills) as fills`);
    console.log(
      `[scaled/basket-crash] ${invest.length} investments + ${rebalance.length} rebalances = ${orders} orders, ${fills} fills; ` +
        `round 1 killed ${r1.caughtSubmitting ? 'with run orders SUBMITTING' : 'after the burst (no SUBMITTING order caught)'} ${JSON.stringify(r1.atKill)}; ` +
        `round 2 killed ${r2.caughtSubmitting ? 'with run orders SUBMITTING' : 'after the burst (no SUBMITTING order caught)'} ${JSON.stringify(r2.atKill)}`,
    );
    expect(r1.caughtSubmitting || r2.caughtSubmitting, 'at least one kill landed while a run job had orders SUBMITTING').toBe(true);
  }, 300_000);
});
