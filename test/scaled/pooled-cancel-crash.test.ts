/**
 * A member's cancel after its window closed, with the api process SIGKILLed in the middle of it: three
 * apis and a worker process on real Postgres and Redis; three members' large market buys make one parent
 * that fills over many quotes. Three times, a member cancels and its api is killed the moment the
 * cancel's intent has committed (REQUESTED: the broker not yet asked, or asked and not yet recorded); each
 * cancel, through another api, first settles the one before. The first two reduce the parent; the third
 * member is then the last with anything unfilled, so its cancel cancels the whole parent at the broker.
 * The worker's sweep settles that last one from the broker's view of the parent. Afterwards: the parent is
 * CANCELED at the broker and in the database, with the same quantity, the original less exactly the
 * reduced shares; every broker execution is recorded once; the children's fills add up to them; a
 * reduced child got nothing after its cancel; every member's cash is its deposit less its fills (and
 * equals its ledger), with no hold left.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, must, newUser } from '../support/gql.js';
import { Decimal } from '../../src/lib/decimal.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { PaperBroker } from '../../src/brokers/paper/paper.broker.js';
import { SCALED, dumpOutputOnFailure, startCluster, type Cluster, type ProductProcess } from './processes.js';
import { placeOrder, rows, waitForMarket } from './trading.js';

const DEPOSIT = '100000000';
const QUANTITY = '100000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(SCALED)('a pooled cancel after the close with the api SIGKILLed mid-reduce (needs DATABASE_URL and REDIS_URL)', () => {
  let cluster: Cluster | undefined;
  let api: ProductProcess;
  let apiB: ProductProcess;
  let apiC: ProductProcess;
  const email = `admin-pcancel-${Date.now()}@firm.example`;
  dumpOutputOnFailure(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster('pcancel', { ADMIN_EMAIL: email, POOLED_TICK_MS: '100', LOG_LEVEL: 'info' });
    // Two at a time at most: more cold starts at once can outlast the readiness wait on a busy box.
    [api] = await Promise.all([cluster.start('api', 'api-a'), cluster.start('worker', 'worker-1')]);
    apiB = await cluster.start('api', 'api-b');
    apiC = await cluster.start('api', 'api-c');
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('records each reduce once, from the broker’s view, and allocates nothing twice nor to a canceled child', async () => {
    const db = cluster!.db.db;
    const reg = await must<{ register: { accessToken: string } }>(api, `mutation($e:String!){ register(email:$e,password:"correct-horse-battery",name:"Admin"){ accessToken } }`, { e: email });
    const admin = reg.register.accessToken;
    await waitForMarket(api, admin, 'ITC');
    const acc = await must<{ createPooledAccount: { id: string } }>(api, `mutation{ createPooledAccount(name:"pcancel", broker:"paper", windowMs:86400000){ id } }`, {}, admin);
    const accountId = acc.createPooledAccount.id;
    const members: { token: string; portfolioId: string; orderId: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const u = await newUser(api, `pcancel${i}`);
      const p = await must<{ createPortfolio: { id: string } }>(api, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, u.token);
      await must(api, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: p.createPortfolio.id, a: DEPOSIT }, u.token);
      const o = await placeOrder(api, u.token, { portfolioId: p.createPortfolio.id, symbol: 'ITC', side: 'BUY', type: 'MARKET', quantity: QUANTITY });
      members.push({ token: u.token, portfolioId: p.createPortfolio.id, orderId: o.id });
    }
    const closed = await must<{ closePooledWindow: { id: string }[] }>(api, `mutation($id:ID!){ closePooledWindow(id:$id){ id } }`, { id: accountId }, admin);
    const parentId = closed.closePooledWindow[0].id;

    // Two cancels, each through its own api, each api killed mid-cancel. The second finds the first's
    // reduction still REQUESTED (its api is dead) and settles it itself before writing its own.
    const killDuringCancel = async (m: (typeof members)[number], via: ProductProcess, tag: string) => {
      let killed = false;
      const killer = (async () => {
        for (let t = 0; t < 4000 && !killed; t++) {
          const [x] = await rows<{ ok: boolean }>(db, sql`select exists (select 1 from pooled_parent_reductions where child_order_id = ${m.orderId}) as ok`);
          if (x.ok) {
            via.kill('SIGKILL');
            killed = true;
            // Which side of the broker's acknowledgement the kill fell on (printed: it varies run to run).
            const [at] = await rows<{ status: string; remote: string; from_q: string; to_q: string }>(
              db,
              sql`select r.status, o.quantity::text as remote, r.from_quantity::text as from_q, r.to_quantity::text as to_q
                  from pooled_parent_reductions r join pooled_parent_orders p on p.id = r.parent_id join paper_orders o on o.id = p.broker_order_id
                  where r.child_order_id = ${m.orderId}`,
            );
            console.info(`[pooled-cancel-crash] ${tag}: killed with the reduction ${at?.status}, broker parent at ${at?.remote} (from ${at?.from_q}, to ${at?.to_q})`);
            return;
          }
          await sleep(2);
        }
      })();
      const answer = await gql(via, `mutation($id:ID!){ cancelOrder(id:$id){ status } }`, { id: m.orderId }, m.token).catch((err: Error) => ({ lost: err.message }));
      await killer;
      expect(killed, `${tag}: the api was killed during the cancel (answer ${JSON.stringify(answer)})`).toBe(true);
      await via.exited;
    };
    await killDuringCancel(members[1], api, 'b');
    await killDuringCancel(members[2], apiB, 'c');
    // The last buy with anything unfilled: its cancel is a cancel of the whole parent.
    await killDuringCancel(members[0], apiC, 'a');

    // Every child ends: the worker's sweep settles the reductions, then the parent fills its rest.
    const children = () =>
      rows<{ id: string; portfolio_id: string; quantity: string; filled_quantity: string; status: string }>(
        db,
        sql`select o.id, o.portfolio_id, o.quantity::text, o.filled_quantity::text, o.status from orders o join pooled_children c on c.order_id = o.id where c.parent_id = ${parentId}`,
      );
    let kids = await children();
    for (let t = 0; t < 360 && kids.some((k) => !['FILLED', 'CANCELED'].includes(k.status)); t++) {
      await sleep(500);
      kids = await children();
    }
    expect(kids.filter((k) => !['FILLED', 'CANCELED'].includes(k.status)).map((k) => `${k.id} ${k.status}`)).toEqual([]);
    const all = await rows<{ child_order_id: string; quantity: string; status: string; kind: string; to_q: string }>(
      db,
      sql`select child_order_id, quantity::text, status, kind, to_quantity::text as to_q from pooled_parent_reductions where parent_id = ${parentId}`,
    );
    expect(all.filter((r) => r.status !== 'DONE')).toEqual([]);
    // Every cancel took effect (a refusal would need the broker to have filled the parent meanwhile).
    expect(all.map((r) => [r.child_order_id, r.kind]).sort()).toEqual(
      [
        [members[1].orderId, 'REDUCE'],
        [members[2].orderId, 'REDUCE'],
        [members[0].orderId, 'CANCEL'],
      ].sort(),
    );
    const reductions = all.filter((r) => r.kind === 'REDUCE');
    expect(kids.filter((k) => k.status === 'CANCELED').map((k) => k.id).sort()).toEqual(members.map((m) => m.orderId).sort());

    const paper = new PaperBroker({ db, quotes: { get: () => null, onQuote: () => () => {} }, clock: systemClock, logger: silentLogger });
    const [parent] = await rows<{ quantity: string; filled_quantity: string; broker_order_id: string; status: string }>(db, sql`select quantity::text, filled_quantity::text, broker_order_id, status from pooled_parent_orders where id = ${parentId}`);
    const remote = (await paper.getOrder(accountId, { brokerOrderId: parent.broker_order_id }))!;
    const shares = reductions.reduce((s, r) => s.add(r.quantity), new Decimal(0));
    expect(new Decimal(parent.quantity).toFixed(), 'parent here and at the broker').toBe(new Decimal(remote.quantity).toFixed());
    expect(new Decimal(remote.quantity).toFixed(), 'the original less exactly the reduced shares').toBe(new Decimal(QUANTITY).mul(3).sub(shares).toFixed());
    expect([parent.status, remote.status], 'canceled here and at the broker').toEqual(['CANCELED', 'CANCELED']);
    const last = all.find((r) => r.kind === 'CANCEL')!;
    expect(new Decimal(parent.filled_quantity).gte(last.to_q), 'nothing filled before the cancel is lost').toBe(true);
    for (const k of kids) {
      const r = reductions.find((x) => x.child_order_id === k.id);
      if (k.status === 'CANCELED' && r) expect(new Decimal(k.filled_quantity).add(r.quantity).toFixed(), `canceled child ${k.id}: nothing after its cancel`).toBe(new Decimal(k.quantity).toFixed());
      if (k.status === 'FILLED') expect(r, `filled child ${k.id} has no reduction`).toBeUndefined();
    }

    // Every broker execution recorded once; children's fills add up to them.
    const executions = await paper.getFills(accountId, parent.broker_order_id);
    const recorded = await rows<{ broker_fill_id: string }>(db, sql`select broker_fill_id from pooled_parent_fills where parent_id = ${parentId}`);
    expect(recorded.map((r) => r.broker_fill_id).sort()).toEqual(executions.map((e) => e.brokerFillId).sort());
    const total = executions.reduce((s, e) => s.add(e.quantity), new Decimal(0));
    expect(kids.reduce((s, k) => s.add(k.filled_quantity), new Decimal(0)).toFixed()).toBe(total.toFixed());
    expect(new Decimal(parent.filled_quantity).toFixed()).toBe(total.toFixed());

    // Cash: deposit − Σ notional − Σ fees, exactly; the ledger sums to it; no hold left.
    for (const m of members) {
      const [p] = await rows<{ cash: string; ledger: string; held: string; spent: string }>(
        db,
        sql`select cash::text,
              (select coalesce(sum(amount), 0)::text from ledger_entries where portfolio_id = ${m.portfolioId}) as ledger,
              (select coalesce(sum(amount), 0)::text from holds where portfolio_id = ${m.portfolioId} and released_at is null) as held,
              (select coalesce(sum(quantity * price + fee), 0)::text from fills where portfolio_id = ${m.portfolioId}) as spent
            from portfolios where id = ${m.portfolioId}`,
      );
      expect(new Decimal(p.cash).toFixed(8), `cash of ${m.portfolioId}`).toBe(new Decimal(DEPOSIT).sub(p.spent).toFixed(8));
      expect(new Decimal(p.ledger).toFixed(8)).toBe(new Decimal(p.cash).toFixed(8));
      expect(new Decimal(p.held).toFixed()).toBe('0');
    }
  }, 400_000);
});
