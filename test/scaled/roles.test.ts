/**
 * The scaled roles as separate OS processes on real Postgres and Redis: an `api` process takes the
 * order, a `worker` process submits it to the paper exchange and applies the fill, and the api pushes
 * the fill to a graphql-ws subscriber. Then SIGTERM: an api drains its in-flight requests and exits 0,
 * a worker finishes its jobs and exits 0.
 */
import http from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decimal } from '../../src/lib/decimal.js';
import { collect, newUser, waitFor, wsClient } from '../support/gql.js';
import { assertLedgerInvariants } from '../support/trading.js';
import { SCALED, connectionRefused, dumpOutputOnFailure, serverHasReadEverything, metricValue, startCluster, type Cluster, type ProductProcess } from './processes.js';
import { createFundedPortfolio, placeOrder, rows, waitForMarket, waitForStatus } from './trading.js';

describe.runIf(SCALED)('api and worker as separate processes (needs DATABASE_URL and REDIS_URL)', () => {
  let cluster: Cluster | undefined;
  let api: ProductProcess;
  let worker: ProductProcess;
  dumpOutputOnFailure(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster('roles');
    [api, worker] = await Promise.all([cluster.start('api', 'api'), cluster.start('worker', 'worker')]);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('fills a market buy placed on the api process in the worker process, and pushes the fill over graphql-ws', async () => {
    const started = Date.now();
    const u = await newUser(api);
    const pid = await createFundedPortfolio(api, u.token, '1000000');
    await waitForMarket(api, u.token, 'RELIANCE');

    const ws = wsClient(api, u.token);
    type FillMsg = { fillReceived: { sequence: number; fill: { id: string; quantity: string; price: string; fee: string }; order: { id: string; status: string } } };
    // From sequence 0 (a new portfolio): a subscription that goes live after the first event was published
    // gets it from the outbox (graphql-ws does not acknowledge a subscribe); the pause lets them go live first.
    const fills = collect<FillMsg>(ws, `subscription($p:ID){ fillReceived(portfolioId:$p, afterSequence:0){ sequence fill { id quantity price fee } order { id status } } }`, { p: pid });
    const updates = collect<{ orderUpdated: { sequence: number; order: { id: string; status: string } } }>(
      ws,
      `subscription($p:ID){ orderUpdated(portfolioId:$p, afterSequence:0){ sequence order { id status } } }`,
      { p: pid },
    );
    await new Promise((r) => setTimeout(r, 300));

    const order = await placeOrder(api, u.token, { portfolioId: pid, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '10' });
    expect(order.status).toBe('PENDING');
    const done = await waitForStatus(api, u.token, order.id, ['FILLED']);
    expect(new Decimal(done.quantity).eq(10) && new Decimal(done.filledQuantity).eq(10), `filled ${done.filledQuantity} of ${done.quantity}`).toBe(true);
    expect(done.brokerOrderId).toBeTruthy();

    await waitFor('fillReceived events for 10 shares', () => fills.items.reduce((n, f) => n.add(f.fillReceived.fill.quantity), new Decimal(0)).eq(10));
    expect(fills.errors).toEqual([]);
    expect(fills.items.every((f) => f.fillReceived.order.id === order.id)).toBe(true);
    await waitFor('the FILLED orderUpdated event', () => updates.items.some((x) => x.orderUpdated.order.status === 'FILLED'));
    const statuses = updates.items.map((x) => x.orderUpdated.order.status);
    expect(statuses[0]).toBe('PENDING');
    expect(statuses).toContain('FILLED');
    const seqs = updates.items.map((x) => x.orderUpdated.sequence);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    // The worker, not the api, ran the job loop: only the worker counts submit jobs and broker submissions.
    // (The submit job ends after the order's notification, which it sends once the fill is committed.)
    await waitFor('the submit job to end', async () => metricValue(await worker.metrics(), 'jobs_processed_total', { name: 'submit-order', outcome: 'ok' }) >= 1);
    const [wm, am] = await Promise.all([worker.metrics(), api.metrics()]);
    expect(metricValue(wm, 'jobs_processed_total', { name: 'submit-order', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(wm, 'orders_total', { event: 'submitted' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(am, 'jobs_processed_total')).toBe(0);
    expect(metricValue(am, 'orders_total', { event: 'submitted' })).toBe(0);

    // The paper exchange (in the database both share) holds exactly this order, filled.
    const db = cluster!.db.db;
    const paper = await rows<{ status: string; tenFilled: boolean }>(
      db,
      sql`select status, filled_quantity = 10 as "tenFilled" from paper_orders where client_order_id = ${order.id}`,
    );
    expect(paper).toEqual([{ status: 'FILLED', tenFilled: true }]);
    const [cash] = await rows<{ equal: boolean; cash: string }>(
      db,
      sql`select p.cash::text as cash,
                 p.cash = 1000000 - (select sum(f.quantity * f.price + f.fee) from fills f where f.order_id = ${order.id}) as equal
          from portfolios p where p.id = ${pid}`,
    );
    expect(cash, 'cash = deposit - notional - fees, to the cent').toMatchObject({ equal: true });
    await assertLedgerInvariants(db, pid);

    fills.dispose();
    updates.dispose();
    await ws.dispose();
    console.log(`[scaled/roles] 1 order, ${fills.items.length} fill(s), filled and pushed ${Date.now() - started} ms after sign-up`);
  });

  it('drains on SIGTERM: in-flight requests complete, the api exits 0, new connections are refused', async () => {
    const drain = await cluster!.start('api', 'api-draining');
    // A burst of sign-ups (argon2id hashing, the slowest request we have), each on its own connection.
    const n = 32;
    type Outcome = { status: number; body: string; at: number } | { error: string; at: number };
    const emails: string[] = [];
    const burst = async (round: number) => {
      const mine = Array.from({ length: n }, (_, i) => `drain-${round}-${i}-${Date.now()}@example.com`);
      emails.push(...mine);
      const sent: Promise<void>[] = [];
      const requests = mine.map((email) => {
        const body = JSON.stringify({
          query: `mutation($e:String!){ register(email:$e, password:"correct-horse-battery", name:"Drain"){ accessToken user { id } } }`,
          variables: { e: email },
        });
        return new Promise<Outcome>((resolve) => {
          const failed = (err: Error) => resolve({ error: `${err.message}`, at: Date.now() });
          const req = http.request(
            `${drain.url}/graphql`,
            { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, at: Date.now() }));
              res.on('error', failed);
            },
          );
          req.on('error', failed);
          sent.push(new Promise((r) => req.once('finish', () => r())));
          req.end(body);
        });
      });
      await Promise.all(sent); // every request is written to its socket...
      // ...and the server has accepted every connection and read every byte: the requests are in its hands.
      let answered = 0;
      for (const r of requests) void r.then(() => answered++);
      await waitFor('the api to read the whole burst', () => serverHasReadEverything(drain.port, n - answered), 10_000);
      return { requests, open: answered < n };
    };
    // On a busy box the whole burst can be answered before we see it read: then there is nothing in
    // flight to drain, so send another (a few times at most) and signal while one is in the server's hands.
    let round = await burst(0);
    const earlier: Promise<Outcome>[] = [];
    for (let k = 1; k < 4 && !round.open; k++) {
      earlier.push(...round.requests);
      round = await burst(k);
    }
    const requests = [...earlier, ...round.requests];
    const sigtermAt = Date.now();
    drain.kill('SIGTERM');

    // Soon after the signal the listener is closed, while the burst may still be hashing. Tried every
    // millisecond, not every 25: the time is compared with the last response's below, and a poll's sleep
    // once made a refusal seen 13 ms late look later than a burst's last answer.
    let refusedAt = 0;
    await waitFor(
      'a new connection to be refused',
      async () => {
        if (await connectionRefused(drain.port)) refusedAt = Date.now();
        return refusedAt > 0;
      },
      10_000,
      1,
    );

    const results = await Promise.all(requests);
    // 32 argon2id hashes on a busy 2-core CI box can take several seconds: the bound is the api's own
    // SHUTDOWN_TIMEOUT_MS (15 s), past which it would exit forced (code 1), not drained.
    const exit = await drain.waitExit(16_000);
    expect(exit, 'exit code after SIGTERM').toMatchObject({ code: 0, signal: null });
    expect(exit.at - sigtermAt).toBeLessThan(15_000);
    for (const r of results) {
      if ('error' in r) expect.fail(`an in-flight request failed during the drain: ${r.error}`);
      expect(r.status, r.body).toBe(200);
      const parsed = JSON.parse(r.body) as { data?: { register?: { accessToken?: string } }; errors?: unknown };
      expect(parsed.errors, r.body).toBeUndefined();
      expect(parsed.data?.register?.accessToken).toBeTruthy();
    }
    const inFlight = results.filter((r) => r.at >= sigtermAt).length;
    expect(inFlight, 'responses that completed after SIGTERM (the requests were in flight)').toBeGreaterThan(0);
    const [users] = await rows<{ n: number }>(cluster!.db.db, sql`select count(*)::int as n from users where email in ${emails}`);
    expect(users.n).toBe(emails.length);
    expect(await connectionRefused(drain.port)).toBe(true);
    // The other api replica was not disturbed.
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    const lastResponse = Math.max(...results.map((r) => r.at));
    expect(refusedAt, 'new connections are refused while the in-flight requests still drain').toBeLessThan(lastResponse);
    console.log(
      `[scaled/roles] SIGTERM drain: ${inFlight}/${results.length} requests completed after the signal (the last ${lastResponse - sigtermAt} ms after it), ` +
        `exit 0 after ${exit.at - sigtermAt} ms, new connections refused from ${refusedAt - sigtermAt} ms after the signal`,
    );
  });

  it('lets a worker finish its jobs on SIGTERM and exit 0; the orders still fill', async () => {
    const second = await cluster!.start('worker', 'worker-2');
    const u = await newUser(api);
    const pid = await createFundedPortfolio(api, u.token, '1000000');
    await waitForMarket(api, u.token, 'TCS');
    // Signalled while both workers are busy with these: the draining one must finish its jobs, follow-ups
    // included (apply-fill, sync), not leave its orders OPEN for the reconciler's sweep 30 s later.
    const orders = await Promise.all(
      Array.from({ length: 20 }, () => placeOrder(api, u.token, { portfolioId: pid, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: '1' })),
    );
    const sigtermAt = Date.now();
    second.kill('SIGTERM');
    const exit = await second.waitExit(10_000);
    expect(exit, 'exit code after SIGTERM').toMatchObject({ code: 0, signal: null });
    const filledBy = sigtermAt + 10_000;
    for (const o of orders) await waitForStatus(api, u.token, o.id, ['FILLED'], Math.max(1, filledBy - Date.now()));
    const [stuck] = await rows<{ n: number }>(cluster!.db.db, sql`select count(*)::int as n from orders where portfolio_id = ${pid} and status <> 'FILLED'`);
    expect(stuck.n).toBe(0);
    await assertLedgerInvariants(cluster!.db.db, pid);
    expect(worker.running).toBe(true);
    console.log(`[scaled/roles] worker SIGTERM: exit 0 after ${exit.at - sigtermAt} ms; ${orders.length} orders filled`);
  });
});
