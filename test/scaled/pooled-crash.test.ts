/**
 * A pooled account's worker SIGKILLed around the window: an api and a worker process on real Postgres
 * and Redis; members place bursts of market buys into short windows. Round 1 kills the worker the moment
 * a window's claim has committed (a parent exists, not yet at the broker); round 2 kills the next worker
 * once a parent is at the broker (before or while its fills are allocated); a new worker takes over each
 * time. Afterwards every broker execution of every parent is recorded once, every child's fills equal an
 * independent pro-rata computation from the broker's own record of the parent's executions, and every
 * member's cash is its deposit less exactly those fills (and equals its ledger).
 */
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, newUser } from '../support/gql.js';
import { Decimal } from '../../src/lib/decimal.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { PaperBroker } from '../../src/brokers/paper/paper.broker.js';
import { SCALED, dumpOutputOnFailure, startCluster, type Cluster, type ProductProcess } from './processes.js';
import { placeOrder, rows, waitForMarket } from './trading.js';

const MEMBERS = 6;
const ORDERS_PER_MEMBER = 12;
const SYMBOLS = ['RELIANCE', 'TCS', 'INFY'];
const DEPOSIT = '10000000';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Independent largest-remainder split in BigInt units: floors, then the largest remainders, then time. */
function split(total: bigint, claims: { key: string; weight: bigint; rank: number }[]): Map<string, bigint> {
  const W = claims.reduce((s, c) => s + c.weight, 0n);
  const out = new Map<string, bigint>();
  for (const c of claims) out.set(c.key, 0n);
  if (W === 0n || total === 0n) return out;
  const parts = claims.map((c) => ({ c, floor: (total * c.weight) / W, rem: (total * c.weight) % W }));
  let left = total - parts.reduce((s, p) => s + p.floor, 0n);
  for (const p of [...parts].sort((a, b) => (a.rem === b.rem ? a.c.rank - b.c.rank : a.rem > b.rem ? -1 : 1))) {
    const extra = left > 0n && p.rem > 0n ? 1n : 0n;
    left -= extra;
    out.set(p.c.key, p.floor + extra);
  }
  return out;
}

describe.runIf(SCALED)('a pooled worker SIGKILLed between placement and allocation (needs DATABASE_URL and REDIS_URL)', () => {
  let cluster: Cluster | undefined;
  let api: ProductProcess;
  let worker: ProductProcess;
  const email = `admin-crash-${Date.now()}@firm.example`;
  dumpOutputOnFailure(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster('poolcrash', { ADMIN_EMAIL: email, POOLED_TICK_MS: '100', LOG_LEVEL: 'info' });
    [api, worker] = await Promise.all([cluster.start('api', 'api-a'), cluster.start('worker', 'worker-1')]);
  }, 180_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('loses no parent fill and allocates none twice: every child’s fills and cash match the pro-rata computation', async () => {
    const db = cluster!.db.db;
    const reg = await must<{ register: { accessToken: string } }>(api, `mutation($e:String!){ register(email:$e,password:"correct-horse-battery",name:"Admin"){ accessToken } }`, { e: email });
    const admin = reg.register.accessToken;
    for (const s of SYMBOLS) await waitForMarket(api, admin, s);
    const acc = await must<{ createPooledAccount: { id: string } }>(api, `mutation{ createPooledAccount(name:"crash", broker:"paper", windowMs:1500){ id } }`, {}, admin);
    const accountId = acc.createPooledAccount.id;
    const members: { token: string; portfolioId: string }[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const u = await newUser(api, `crash${i}`);
      const p = await must<{ createPortfolio: { id: string } }>(api, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, u.token);
      await must(api, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: p.createPortfolio.id, a: DEPOSIT }, u.token);
      members.push({ token: u.token, portfolioId: p.createPortfolio.id });
    }

    /**
     * A burst of orders; the running worker is SIGKILLed as soon as `when` holds (polled every few ms),
     * then a new worker takes over. Round 1 kills right after a window's claim (a parent exists, not yet
     * at the broker); round 2 once a parent is at the broker (before or while its fills are allocated).
     */
    const round = async (r: number, when: SQL) => {
      let killed = false;
      const killer = (async () => {
        for (let t = 0; t < 6000 && !killed; t++) {
          const [x] = await rows<{ ok: boolean }>(db, sql`select (${when}) as ok`);
          if (x.ok) {
            worker.kill('SIGKILL');
            killed = true;
            return;
          }
          await sleep(5);
        }
      })();
      await Promise.all(
        members.map(async (m, mi) => {
          for (let k = 0; k < ORDERS_PER_MEMBER / 2; k++) {
            await placeOrder(api, m.token, { portfolioId: m.portfolioId, symbol: SYMBOLS[(mi + k + r) % SYMBOLS.length], side: 'BUY', type: 'MARKET', quantity: String(1 + ((mi * 7 + k * 3 + r) % 9)) });
          }
        }),
      );
      await killer;
      expect(killed, `round ${r}: the worker was killed during the windows`).toBe(true);
      await worker.exited;
      worker = await cluster!.start('worker', `worker-${r + 1}`);
    };
    await round(1, sql`exists (select 1 from pooled_parent_orders where pooled_account_id = ${accountId})`);
    const [seen] = await rows<{ n: number }>(db, sql`select count(*)::int as n from pooled_parent_orders where pooled_account_id = ${accountId}`);
    await round(
      2,
      sql`exists (select 1 from pooled_parent_orders p where p.pooled_account_id = ${accountId} and p.broker_order_id is not null
            and p.id not in (select id from pooled_parent_orders where pooled_account_id = ${accountId} order by created_at limit ${seen.n}))`,
    );

    // Every child ends (the new worker's sweep drives parents the dead one left).
    const children = async () =>
      rows<{ id: string; portfolio_id: string; quantity: string; filled_quantity: string; status: string; created_ms: string; parent_id: string | null }>(
        db,
        sql`select o.id, o.portfolio_id, o.quantity::text, o.filled_quantity::text, o.status, floor(extract(epoch from o.created_at) * 1000)::bigint::text as created_ms, c.parent_id
            from orders o join pooled_members m on m.portfolio_id = o.portfolio_id left join pooled_children c on c.order_id = o.id
            where m.pooled_account_id = ${accountId}`,
      );
    let kids = await children();
    for (let t = 0; t < 240 && kids.some((k) => k.status !== 'FILLED'); t++) {
      await sleep(500);
      kids = await children();
    }
    expect(kids).toHaveLength(MEMBERS * ORDERS_PER_MEMBER);
    expect(kids.filter((k) => k.status !== 'FILLED').map((k) => `${k.id} ${k.status}`)).toEqual([]);

    // The broker's record of each parent's executions, and every child's fills.
    const paper = new PaperBroker({ db, quotes: { get: () => null, onQuote: () => () => {} }, clock: systemClock, logger: silentLogger });
    const parents = await rows<{ id: string; broker_order_id: string | null }>(db, sql`select id, broker_order_id from pooled_parent_orders where pooled_account_id = ${accountId}`);
    const fills = await rows<{ order_id: string; broker_fill_id: string; quantity: string; price: string; fee: string }>(
      db,
      sql`select f.order_id, f.broker_fill_id, f.quantity::text, f.price::text, f.fee::text from fills f join pooled_children c on c.order_id = f.order_id join pooled_parent_orders p on p.id = c.parent_id where p.pooled_account_id = ${accountId}`,
    );
    const got = new Map<string, string[]>();
    for (const f of fills) got.set(f.order_id, [...(got.get(f.order_id) ?? []), `${f.broker_fill_id} ${new Decimal(f.quantity).toFixed(0)}@${new Decimal(f.price).toFixed(8)}+${new Decimal(f.fee).toFixed(2)}`]);
    const want = new Map<string, string[]>();
    for (const p of parents) {
      expect(p.broker_order_id, `parent ${p.id} reached the broker`).not.toBeNull();
      const executions = await paper.getFills(accountId, p.broker_order_id!);
      const recorded = await rows<{ broker_fill_id: string }>(db, sql`select broker_fill_id from pooled_parent_fills where parent_id = ${p.id}`);
      expect(recorded.map((r) => r.broker_fill_id).sort(), `parent ${p.id}: every broker execution recorded once`).toEqual(executions.map((e) => e.brokerFillId).sort());
      const mine = kids.filter((k) => k.parent_id === p.id).sort((a, b) => Number(a.created_ms) - Number(b.created_ms) || (a.id < b.id ? -1 : 1));
      const left = new Map(mine.map((k) => [k.id, BigInt(new Decimal(k.quantity).toFixed(0))]));
      for (const e of executions) {
        const qs = split(BigInt(new Decimal(e.quantity).toFixed(0)), mine.map((k, rank) => ({ key: k.id, weight: left.get(k.id)!, rank })));
        const withQty = mine.filter((k) => qs.get(k.id)! > 0n);
        const fees = split(BigInt(new Decimal(e.fee).mul(100).toFixed(0)), withQty.map((k, rank) => ({ key: k.id, weight: qs.get(k.id)!, rank })));
        for (const k of withQty) {
          left.set(k.id, left.get(k.id)! - qs.get(k.id)!);
          const fee = new Decimal((fees.get(k.id) ?? 0n).toString()).div(100);
          want.set(k.id, [...(want.get(k.id) ?? []), `${p.id}:${e.brokerFillId} ${qs.get(k.id)}@${new Decimal(e.price).toFixed(8)}+${fee.toFixed(2)}`]);
        }
      }
    }
    for (const k of kids) expect((got.get(k.id) ?? []).sort(), `fills of child ${k.id}`).toEqual((want.get(k.id) ?? []).sort());

    // Cash: deposit − Σ notional − Σ fees, exactly; and the ledger sums to it.
    for (const m of members) {
      const [p] = await rows<{ cash: string; ledger: string }>(db, sql`select cash::text, (select coalesce(sum(amount), 0)::text from ledger_entries where portfolio_id = ${m.portfolioId}) as ledger from portfolios where id = ${m.portfolioId}`);
      const spent = fills
        .filter((f) => kids.find((k) => k.id === f.order_id)?.portfolio_id === m.portfolioId)
        .reduce((s, f) => s.add(new Decimal(f.quantity).mul(f.price)).add(f.fee), new Decimal(0));
      expect(new Decimal(p.cash).toFixed(8), `cash of ${m.portfolioId}`).toBe(new Decimal(DEPOSIT).sub(spent).toFixed(8));
      expect(new Decimal(p.ledger).toFixed(8)).toBe(new Decimal(p.cash).toFixed(8));
    }
  }, 300_000);
});
