/**
 * The acceptance scenario: two api replicas and a worker, each its own OS process on real Postgres and
 * Redis. A burst of orders from several users and portfolios (market buys, marketable limit buys, resting
 * limits that are then canceled) goes in over HTTP through both replicas; the worker is SIGKILLed in the
 * middle of the burst and a new worker process is started. Every order must end exactly once: one order
 * at the exchange per order, no fill applied twice or missed, no order stuck, cash to the cent.
 *
 * Recovery relies on BullMQ's stalled-job check (lock 5 s, check every 3 s) and the reconciler (every
 * 5 s); nothing here needs the reconciler's 60 s SUBMITTING threshold, as stalled jobs come back first.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUser } from '../support/gql.js';
import { assertLedgerInvariants } from '../support/trading.js';
import { SCALED, dumpOutputOnFailure, explainOrder, metricValue, startCluster, type Cluster, type ProductProcess } from './processes.js';
import { cancelOrder, createFundedPortfolio, placeOrder, priceAt, rows, waitForMarket, type Market, type OrderView } from './trading.js';

const N = 150;
const USERS = 5;
const PORTFOLIOS_PER_USER = 2;
const DEPOSIT = '5000000';
const SYMBOLS = ['RELIANCE', 'TCS', 'INFY', 'ITC', 'SBIN', 'HDFCBANK'];
/** Requests in flight at once during the burst, spread over both replicas. */
const CONCURRENCY = 24;
/** The worker dies once this many placeOrder mutations have returned. */
const KILL_AFTER = Math.floor(N / 3);
const SETTLE_TIMEOUT_MS = 60_000;

type Kind = 'MARKET' | 'MARKETABLE_LIMIT' | 'RESTING_LIMIT';
interface Planned {
  i: number;
  kind: Kind;
  api: ProductProcess;
  token: string;
  portfolioId: string;
  input: Record<string, unknown>;
  placed?: OrderView;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(SCALED)('a worker SIGKILLed in the middle of an order burst (needs DATABASE_URL and REDIS_URL)', () => {
  let cluster: Cluster | undefined;
  let a: ProductProcess;
  let b: ProductProcess;
  let first: ProductProcess;
  dumpOutputOnFailure(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster('crash', { LOG_LEVEL: 'info' });
    [a, b, first] = await Promise.all([cluster.start('api', 'api-a'), cluster.start('api', 'api-b'), cluster.start('worker', 'worker-1')]);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('ends every order exactly once: one exchange order each, no duplicate or missing fill, nothing stuck, cash to the cent', async () => {
    const db = cluster!.db.db;

    // Five users with two funded portfolios each, set up through both replicas.
    const users = await Promise.all(Array.from({ length: USERS }, (_, k) => newUser(k % 2 ? b : a, 'crash')));
    const accounts = (
      await Promise.all(
        users.flatMap((u, k) =>
          Array.from({ length: PORTFOLIOS_PER_USER }, async (_, j) => ({ token: u.token, portfolioId: await createFundedPortfolio((k + j) % 2 ? a : b, u.token, DEPOSIT) })),
        ),
      )
    ).flat();
    const markets = new Map<string, Market>();
    for (const m of await Promise.all(SYMBOLS.map((s) => waitForMarket(a, users[0].token, s)))) markets.set(m.symbol, m);

    // The plan: half market buys, 30% limit buys 3% above the ask (marketable), 20% limits at half the
    // price (they rest, and are canceled after the burst).
    const plan: Planned[] = Array.from({ length: N }, (_, i) => {
      const kind: Kind = i % 10 < 5 ? 'MARKET' : i % 10 < 8 ? 'MARKETABLE_LIMIT' : 'RESTING_LIMIT';
      const acct = accounts[i % accounts.length];
      const m = markets.get(SYMBOLS[i % SYMBOLS.length])!;
      const input: Record<string, unknown> = { portfolioId: acct.portfolioId, symbol: m.symbol, side: 'BUY', quantity: String(1 + (i % 4)), clientOrderId: `burst-${i}` };
      if (kind === 'MARKET') input.type = 'MARKET';
      if (kind === 'MARKETABLE_LIMIT') Object.assign(input, { type: 'LIMIT', limitPrice: priceAt(m.ask, '1.03', m.tickSize, 'up') });
      if (kind === 'RESTING_LIMIT') Object.assign(input, { type: 'LIMIT', limitPrice: priceAt(m.last, '0.5', m.tickSize, 'down'), timeInForce: 'GTC' });
      return { i, kind, api: i % 2 ? b : a, token: acct.token, portfolioId: acct.portfolioId, input };
    });

    // The burst, with the worker SIGKILLed a third of the way in and a new one started at once.
    let returned = 0;
    let killedAt = 0;
    let second: Promise<ProductProcess> | undefined;
    let atKill: Promise<Record<string, number>> | undefined;
    const burstStarted = Date.now();
    const next = [...plan];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let p = next.shift(); p; p = next.shift()) {
          p.placed = await placeOrder(p.api, p.token, p.input);
          if (++returned === KILL_AFTER) {
            first.kill('SIGKILL');
            killedAt = Date.now();
            atKill = rows<{ status: string; n: number }>(db, sql`select status, count(*)::int as n from orders group by status`).then((r) =>
              Object.fromEntries(r.map((x) => [x.status, x.n])),
            );
            second = cluster!.start('worker', 'worker-2');
          }
        }
      }),
    );
    const burstMs = Date.now() - burstStarted;
    expect(killedAt).toBeGreaterThan(0);
    const killExit = await first.waitExit(5_000);
    expect(killExit.signal).toBe('SIGKILL');
    const statusesAtKill = await atKill!;
    const worker2 = await second!;
    expect(plan.every((p) => p.placed?.status === 'PENDING' || p.placed?.status === 'SUBMITTING' || p.placed?.status === 'OPEN' || p.placed?.status === 'FILLED')).toBe(true);

    // Cancel the resting limits through the other replica than the one that took them: half at once
    // (most are still PENDING or SUBMITTING while the new worker catches up), half once OPEN at the exchange.
    const resting = plan.filter((p) => p.kind === 'RESTING_LIMIT');
    const cancel = (p: Planned) => cancelOrder(p.api === a ? b : a, p.token, p.placed!.id);
    const early = resting.filter((_, k) => k % 2 === 0);
    const late = resting.filter((_, k) => k % 2 === 1);
    const cancelReplies = await Promise.all(early.map(cancel));
    const lateIds = late.map((p) => p.placed!.id);
    const openDeadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const notOpen = await rows<{ id: string }>(db, sql`select id from orders where id in ${lateIds} and status <> 'OPEN'`);
      if (notOpen.length === 0) break;
      if (Date.now() > openDeadline) {
        const details = await Promise.all(notOpen.slice(0, 5).map((o) => explainOrder(cluster!, o.id)));
        expect.fail(`${notOpen.length} of ${lateIds.length} resting orders did not reach OPEN after the crash:\n${details.join('\n')}`);
      }
      await sleep(250);
    }
    cancelReplies.push(...(await Promise.all(late.map(cancel))));
    for (const c of cancelReplies) expect(['CANCELED', 'CANCEL_REQUESTED']).toContain(c.status);

    // Settle: every market and marketable order FILLED in full, every resting one CANCELED.
    const expected = new Map(plan.map((p) => [p.placed!.id, p.kind === 'RESTING_LIMIT' ? 'CANCELED' : 'FILLED']));
    let notSettled: { id: string; status: string; complete: boolean }[] = [];
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const current = await rows<{ id: string; status: string; complete: boolean }>(db, sql`select id, status, filled_quantity = quantity as complete from orders`);
      notSettled = current.filter((o) => expected.get(o.id) !== o.status || (o.status === 'FILLED') !== o.complete);
      if (current.length === N && notSettled.length === 0) break;
      if (Date.now() > deadline) {
        const details = await Promise.all(notSettled.slice(0, 5).map((o) => explainOrder(cluster!, o.id)));
        expect.fail(`${notSettled.length} orders not settled ${SETTLE_TIMEOUT_MS} ms after the burst:\n${details.join('\n')}`);
      }
      await sleep(250);
    }
    const settledAfterKillMs = Date.now() - killedAt;

    // Exactly one exchange order per order: none twice, none that is not ours, each where we recorded it.
    expect(await rows(db, sql`select client_order_id, count(*)::int as n from paper_orders group by client_order_id having count(*) > 1`)).toEqual([]);
    expect(await rows(db, sql`select po.id from paper_orders po left join orders o on o.id::text = po.client_order_id where o.id is null`)).toEqual([]);
    const pairs = await rows<{ id: string; status: string; brokerOrderId: string | null; paperId: string | null; paperStatus: string | null; sameFilled: boolean | null; filledZero: boolean }>(
      db,
      sql`select o.id, o.status, o.broker_order_id as "brokerOrderId", po.id as "paperId", po.status as "paperStatus",
                 po.filled_quantity = o.filled_quantity as "sameFilled", o.filled_quantity = 0 as "filledZero"
          from orders o left join paper_orders po on po.client_order_id = o.id::text and po.account = o.portfolio_id::text`,
    );
    expect(pairs).toHaveLength(N);
    let canceledBeforeBroker = 0;
    for (const o of pairs) {
      if (o.status === 'FILLED') {
        expect(o, 'a filled order matches its exchange order').toMatchObject({ paperId: o.brokerOrderId, paperStatus: 'FILLED', sameFilled: true });
      } else if (o.paperId === null) {
        canceledBeforeBroker++;
        expect(o, 'canceled before it reached the exchange').toMatchObject({ status: 'CANCELED', brokerOrderId: null, filledZero: true });
      } else {
        expect(o, 'canceled at the exchange').toMatchObject({ status: 'CANCELED', paperId: o.brokerOrderId, paperStatus: 'CANCELED', sameFilled: true, filledZero: true });
      }
    }

    // Fills: each exchange execution applied exactly once, with its quantity, price and fee.
    expect(await rows(db, sql`select order_id, broker_fill_id from fills group by 1, 2 having count(*) > 1`)).toEqual([]);
    expect(
      await rows(
        db,
        sql`select f.id from fills f join orders o on o.id = f.order_id
            left join paper_fills pf on pf.id = f.broker_fill_id and pf.order_id = o.broker_order_id
            where pf.id is null or pf.quantity <> f.quantity or pf.price <> f.price or pf.fee <> f.fee`,
      ),
      'fills that do not match an exchange execution',
    ).toEqual([]);
    expect(
      await rows(
        db,
        sql`select pf.id from paper_fills pf join paper_orders po on po.id = pf.order_id
            left join fills f on f.broker_fill_id = pf.id and f.order_id::text = po.client_order_id
            where f.id is null`,
      ),
      'exchange executions never applied',
    ).toEqual([]);
    expect(
      await rows(
        db,
        sql`select o.id from orders o left join (select order_id, sum(quantity) as q from fills group by 1) s on s.order_id = o.id
            where o.filled_quantity <> coalesce(s.q, 0)`,
      ),
      'orders whose filled quantity is not the sum of their fills',
    ).toEqual([]);

    // Money: the ledger invariants per portfolio; cash = deposit - notional - fees exactly; no hold left.
    for (const acct of accounts) await assertLedgerInvariants(db, acct.portfolioId);
    expect(
      await rows(
        db,
        sql`select p.id, p.cash::text from portfolios p
            where p.cash <> ${DEPOSIT}::numeric - coalesce((select sum(f.quantity * f.price + f.fee) from fills f where f.portfolio_id = p.id), 0)`,
      ),
      'portfolios whose cash is not deposit - cost of fills',
    ).toEqual([]);
    expect(await rows(db, sql`select id, order_id from holds where released_at is null`), 'holds still open').toEqual([]);

    const [{ fills }] = await rows<{ fills: number }>(db, sql`select count(*)::int as fills from fills`);
    const m2 = await worker2.metrics();
    const adopted = metricValue(m2, 'orders_total', { event: 'adopted' });
    const submitted = metricValue(m2, 'orders_total', { event: 'submitted' });
    // Placements committed together reach the worker as one submit-orders job; an order alone as submit-order.
    const jobs = (name: string) => metricValue(m2, 'jobs_processed_total', { name, outcome: 'ok' });
    console.log(
      `[scaled/worker-crash] ${N} orders (${plan.filter((p) => p.kind === 'MARKET').length} market, ${plan.filter((p) => p.kind === 'MARKETABLE_LIMIT').length} marketable limit, ` +
        `${resting.length} resting then canceled, ${canceledBeforeBroker} of them before reaching the exchange), ${fills} fills; burst ${burstMs} ms; ` +
        `worker SIGKILLed after ${KILL_AFTER} replies with orders ${JSON.stringify(statusesAtKill)}; ` +
        `all settled ${settledAfterKillMs} ms after the kill; the new worker submitted ${submitted} and adopted ${adopted}, ` +
        `in ${jobs('submit-orders')} submit-orders and ${jobs('submit-order')} submit-order jobs`,
    );
  }, 120_000);
});
