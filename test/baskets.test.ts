import { and, eq } from 'drizzle-orm';
import { auditLog } from '../src/db/schema/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { assertLedgerInvariants, createFundedPortfolio, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { assertRunsMatchFills, createSmallcase, getInvestment, invest, INVESTMENT_FIELDS, RUN_FIELDS, waitForRun } from './support/baskets.js';
import { Decimal } from '../src/lib/decimal.js';
import { DEFAULT_FEES, feeBound } from '../src/brokers/paper/fees.js';
import type { PaperBroker } from '../src/brokers/paper/index.js';

const FIVE = [
  { symbol: 'RELIANCE', weight: '0.3' },
  { symbol: 'HDFCBANK', weight: '0.25' },
  { symbol: 'ITC', weight: '0.2' },
  { symbol: 'WIPRO', weight: '0.15' },
  { symbol: 'TATASTEEL', weight: '0.1' },
];

/** An independent computation of what a buy of `q` at `price` holds: buffered notional rounded up + fee bound. */
function reserve(q: string, price: string): Decimal {
  const ref = new Decimal(price).mul('1.05');
  return new Decimal(q).mul(ref).toDecimalPlaces(8, Decimal.ROUND_UP).add(feeBound(DEFAULT_FEES, 'INR', new Decimal(q).mul(ref)));
}

describe.each(modes())('smallcases invested by amount, rebalanced, repaired and exited (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    for (const c of [...FIVE, { symbol: 'TCS' }, { symbol: 'INFY' }]) await waitForQuote(server, c.symbol);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('invests an amount in whole shares that never cost more than the amount, fills every line, and attributes the fills to the investment', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, FIVE);
    expect(sc.version).toBe(1);

    const preview = await must<{ previewInvestment: { lines: { instrument: { symbol: string }; quantity: string; estimatedPrice: string }[]; leftoverCash: string; maxWeightDeviation: number } }>(
      server,
      `query($s:ID!,$p:ID!){ previewInvestment(smallcaseId:$s, portfolioId:$p, amount:"100000"){ lines { instrument { symbol } quantity estimatedPrice } leftoverCash maxWeightDeviation investedAmount estimatedFees } }`,
      { s: sc.id, p: pid },
      u.token,
    );
    const plan = preview.previewInvestment;
    expect(plan.lines).toHaveLength(5);
    const held = plan.lines.reduce((a, l) => a.add(reserve(l.quantity, l.estimatedPrice)), new Decimal(0));
    expect(held.lte(100000), `holds ${held} within the amount`).toBe(true);
    // Plain rounding down of each line's share, computed here independently: the plan is never further from target.
    const floorValues = plan.lines.map((l) => {
      const w = FIVE.find((c) => c.symbol === l.instrument.symbol)!.weight;
      let q = new Decimal(100000).mul(w).div(new Decimal(l.estimatedPrice).mul('1.05')).floor();
      while (q.gt(0) && reserve(q.toFixed(), l.estimatedPrice).gt(new Decimal(100000).mul(w))) q = q.sub(1);
      return { w: Number(w), v: q.mul(l.estimatedPrice).toNumber() };
    });
    const tot = floorValues.reduce((a, x) => a + x.v, 0);
    const floorDev = Math.max(...floorValues.map((x) => Math.abs(x.v / tot - x.w)));
    expect(plan.maxWeightDeviation).toBeLessThanOrEqual(floorDev + 1e-12);

    const inv = await invest(server, u.token, sc.id, pid, '100000', 'inv-1');
    expect(inv.runs).toHaveLength(1);
    const run = await waitForRun(server, u.token, inv.runs[0].id);
    // The run is in the audit log, by its placer.
    const audited = await server.app.db.db.select().from(auditLog).where(and(eq(auditLog.action, 'basket_run.placed'), eq(auditLog.subjectId, inv.runs[0].id)));
    expect(audited.map((a) => a.actorId)).toEqual([u.id]);
    expect(run.status).toBe('COMPLETED');
    expect(run.kind).toBe('INVEST');
    expect(run.summary).toHaveLength(5);
    expect(run.summary.every((l: { status: string }) => l.status === 'FILLED')).toBe(true);

    const after = await getInvestment(server, u.token, inv.id);
    expect(after.status).toBe('ACTIVE');
    for (const line of run.summary) {
      const h = after.holdings.find((x: { instrument: { symbol: string } }) => x.instrument.symbol === line.instrument.symbol);
      expect(new Decimal(h.quantity).eq(line.filledQuantity)).toBe(true);
    }
    expect(after.drift).toBeLessThan(0.1);
    // Idempotent: the same request id returns the same investment; other parameters are a conflict.
    const again = await invest(server, u.token, sc.id, pid, '100000', 'inv-1');
    expect(again.id).toBe(inv.id);
    const conflict = await gql(server, `mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"90000", clientRequestId:"inv-1"){ id } }`, { s: sc.id, p: pid }, u.token);
    expect(errorCode(conflict)).toBe('IDEMPOTENCY_CONFLICT');

    await assertLedgerInvariants(server.app.db.db, pid);
    expect(await assertRunsMatchFills(server.app.db.db, pid)).toEqual([]);
  });

  it('refuses an amount one paisa below the minimum with BELOW_MINIMUM_INVESTMENT and the minimum, and accepts the minimum', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, [
      { symbol: 'TCS', weight: '0.5' },
      { symbol: 'ITC', weight: '0.5' },
    ]);
    const q = `query($s:ID!,$p:ID!,$a:Decimal!){ previewInvestment(smallcaseId:$s, portfolioId:$p, amount:$a){ lines { quantity } } smallcase(id:$s){ minimumInvestment } }`;
    // Prices move with every tick: hold the market still while the boundary is checked (and retry should
    // a quote still in flight land in between).
    const market = server.app.market()!;
    await market.stop();
    await new Promise((r) => setTimeout(r, 500));
    let checked = false;
    try {
      for (let attempt = 0; attempt < 10 && !checked; attempt++) {
        const d = await must<{ smallcase: { minimumInvestment: string } }>(server, `query($s:ID!){ smallcase(id:$s){ minimumInvestment } }`, { s: sc.id }, u.token);
        const min = new Decimal(d.smallcase.minimumInvestment);
        const below = await gql(server, q, { s: sc.id, p: pid, a: min.sub('0.01').toFixed(2) }, u.token);
        const at = await gql<{ previewInvestment: { lines: unknown[] } }>(server, q, { s: sc.id, p: pid, a: min.toFixed(2) }, u.token);
        if (at.errors || below.errors?.[0]?.extensions?.minimum !== min.toFixed(2)) continue;
        expect(errorCode(below)).toBe('BAD_USER_INPUT');
        expect(below.errors![0].extensions).toMatchObject({ field: 'amount', reason: 'BELOW_MINIMUM_INVESTMENT', minimum: min.toFixed(2) });
        expect(at.data!.previewInvestment.lines).toHaveLength(2);
        checked = true;
      }
    } finally {
      market.start();
    }
    expect(checked, 'the minimum held still long enough to be checked').toBe(true);
    const bad = await gql(server, `mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"10"){ id } }`, { s: sc.id, p: pid }, u.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BELOW_MINIMUM_INVESTMENT' });
    const none = await must<{ investments: unknown[] }>(server, `query($p:ID){ investments(portfolioId:$p){ id } }`, { p: pid }, u.token);
    expect(none.investments).toEqual([]);
  });

  it('rebalances to a new version: sells first, buys on what they raised, pushes the run with its summary, and refuses a second run in flight', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, FIVE);
    const inv = await invest(server, u.token, sc.id, pid, '200000');
    await waitForRun(server, u.token, inv.runs[0].id);

    const upd = await must<{ updateSmallcase: { version: number } }>(
      server,
      `mutation($id:ID!,$i:UpdateSmallcaseInput!){ updateSmallcase(id:$id, input:$i){ version } }`,
      { id: sc.id, i: { rationale: 'Out of metals, into IT', constituents: [{ symbol: 'RELIANCE', weight: '0.3' }, { symbol: 'HDFCBANK', weight: '0.25' }, { symbol: 'ITC', weight: '0.2' }, { symbol: 'INFY', weight: '0.25' }] } },
      u.token,
    );
    expect(upd.updateSmallcase.version).toBe(2);
    const before = await getInvestment(server, u.token, inv.id);
    expect(before.rebalanceAvailable).toBe(true);

    const ws = wsClient(server, u.token);
    const events = collect<{ basketRunUpdated: { sequence: number; run: { id: string; status: string; summary: { status: string }[] } } }>(
      ws,
      `subscription($p:ID){ basketRunUpdated(portfolioId:$p, afterSequence:0){ sequence run { id status summary { status } } } }`,
      { p: pid },
    );
    const rebalance = `mutation($i:ID!,$c:String){ rebalanceSmallcase(investmentId:$i, clientRequestId:$c){ ${RUN_FIELDS} } }`;
    // The broker answers the first sells with transient errors, so the run is surely in flight (seconds of backoff).
    (server.app.brokers.get('paper') as PaperBroker).injectFault({ op: 'placeOrder', kind: 'transient', times: 5 });
    const ok = await gql(server, rebalance, { i: inv.id, c: 'rb-a' }, u.token);
    expect(ok.errors, 'the first rebalance starts').toBeUndefined();
    const refused = await gql(server, rebalance, { i: inv.id, c: 'rb-b' }, u.token);
    expect(errorCode(refused), JSON.stringify([ok.data, refused.data])).toBe('INVALID_STATE');
    const runId = ok.data!.rebalanceSmallcase.id;
    expect(ok.data!.rebalanceSmallcase.status).toBe('SELLING');
    expect(ok.data!.rebalanceSmallcase.orders.every((o: { side: string }) => o.side === 'SELL')).toBe(true);

    const done = await waitForRun(server, u.token, runId);
    expect(done.status).toBe('COMPLETED');
    expect(done.summary.some((l: { side: string; instrument: { symbol: string } }) => l.side === 'SELL' && l.instrument.symbol === 'TATASTEEL')).toBe(true);
    expect(done.summary.some((l: { side: string; instrument: { symbol: string } }) => l.side === 'BUY' && l.instrument.symbol === 'INFY')).toBe(true);
    const after = await getInvestment(server, u.token, inv.id);
    expect(after.version).toBe(2);
    expect(after.rebalanceAvailable).toBe(false);
    expect(after.holdings.find((h: { instrument: { symbol: string } }) => h.instrument.symbol === 'TATASTEEL')).toBeUndefined();
    await waitFor('the completed run pushed with its summary', () => events.items.some((e) => e.basketRunUpdated.run.id === runId && e.basketRunUpdated.run.status === 'COMPLETED'));
    const pushed = events.items.find((e) => e.basketRunUpdated.run.id === runId && e.basketRunUpdated.run.status === 'COMPLETED')!;
    expect(pushed.basketRunUpdated.run.summary.length).toBe(done.summary.length);
    const seqs = events.items.map((e) => e.basketRunUpdated.sequence);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    // Replay: a late subscriber after the first event's sequence gets the rest again.
    const late = collect<{ basketRunUpdated: { sequence: number } }>(ws, `subscription($p:ID,$s:Int){ basketRunUpdated(portfolioId:$p, afterSequence:$s){ sequence } }`, { p: pid, s: seqs[0] });
    await waitFor('replay', () => late.items.length >= seqs.length - 1);
    expect(late.items[0].basketRunUpdated.sequence).toBe(seqs[1]);
    events.dispose();
    late.dispose();
    await ws.dispose();
    await assertLedgerInvariants(server.app.db.db, pid);
    expect(await assertRunsMatchFills(server.app.db.db, pid)).toEqual([]);
  });

  it('keeps two investments and direct trades in one stock apart; a direct sell makes the investment OUT_OF_SYNC and repair restores it', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '800000' });
    const sc1 = await createSmallcase(server, u.token, [
      { symbol: 'ITC', weight: '0.5' },
      { symbol: 'WIPRO', weight: '0.5' },
    ]);
    const sc2 = await createSmallcase(server, u.token, [
      { symbol: 'ITC', weight: '0.6' },
      { symbol: 'TATASTEEL', weight: '0.4' },
    ]);
    const i1 = await invest(server, u.token, sc1.id, pid, '50000');
    const i2 = await invest(server, u.token, sc2.id, pid, '50000');
    await waitForRun(server, u.token, i1.runs[0].id);
    await waitForRun(server, u.token, i2.runs[0].id);
    const direct = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'ITC', side: 'BUY', type: 'MARKET', quantity: '7' });
    await waitForStatus(server, u.token, direct.id, ['FILLED']);
    const h1 = (await getInvestment(server, u.token, i1.id)).holdings.find((h: { instrument: { symbol: string } }) => h.instrument.symbol === 'ITC');
    const h2 = (await getInvestment(server, u.token, i2.id)).holdings.find((h: { instrument: { symbol: string } }) => h.instrument.symbol === 'ITC');
    const pos = (await portfolioState(server, u.token, pid)).positions.find((p) => p.instrument.symbol === 'ITC')!;
    expect(new Decimal(h1.quantity).add(h2.quantity).add(7).eq(pos.quantity)).toBe(true);

    // Sell directly more ITC than the direct trades own: it eats into the investments' shares.
    const sell = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'ITC', side: 'SELL', type: 'MARKET', quantity: '17' });
    await waitForStatus(server, u.token, sell.id, ['FILLED']);
    const oos = await getInvestment(server, u.token, i1.id);
    expect(oos.status).toBe('OUT_OF_SYNC');
    const rb = await gql(server, `mutation($i:ID!){ rebalanceSmallcase(investmentId:$i){ id } }`, { i: i1.id }, u.token);
    expect(errorCode(rb)).toBe('INVALID_STATE');

    const rep = await must<{ repairInvestment: { id: string; kind: string } }>(server, `mutation($i:ID!){ repairInvestment(investmentId:$i, clientRequestId:"rep-1"){ id kind } }`, { i: i1.id }, u.token);
    expect(rep.repairInvestment.kind).toBe('REPAIR');
    const done = await waitForRun(server, u.token, rep.repairInvestment.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.summary.map((l: { side: string; quantity: string; instrument: { symbol: string } }) => [l.instrument.symbol, l.side, l.quantity])).toEqual([['ITC', 'BUY', '10.00']]);
    const fixed = await getInvestment(server, u.token, i1.id);
    expect(fixed.status).toBe('ACTIVE');
    const itc = fixed.holdings.find((h: { instrument: { symbol: string } }) => h.instrument.symbol === 'ITC');
    expect(new Decimal(itc.quantity).eq(h1.quantity)).toBe(true);
    expect((await getInvestment(server, u.token, i2.id)).status).toBe('ACTIVE');
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('a run with a rejected order ends PARTIAL, the investment NEEDS_REPAIR, and repair places what is missing', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, FIVE);
    const paper = server.app.brokers.get('paper') as PaperBroker;
    paper.injectFault({ op: 'placeOrder', kind: 'reject', times: 1 });
    const inv = await invest(server, u.token, sc.id, pid, '100000');
    const run = await waitForRun(server, u.token, inv.runs[0].id);
    expect(run.status).toBe('PARTIAL');
    const rejected = run.summary.filter((l: { status: string }) => l.status === 'REJECTED');
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toBeTruthy();
    const broken = await getInvestment(server, u.token, inv.id);
    expect(broken.status).toBe('NEEDS_REPAIR');

    const rep = await must<{ repairInvestment: { id: string } }>(server, `mutation($i:ID!){ repairInvestment(investmentId:$i){ id } }`, { i: inv.id }, u.token);
    const done = await waitForRun(server, u.token, rep.repairInvestment.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.summary).toHaveLength(1);
    expect(done.summary[0].instrument.symbol).toBe(rejected[0].instrument.symbol);
    expect(done.summary[0].quantity).toBe(rejected[0].quantity);
    expect((await getInvestment(server, u.token, inv.id)).status).toBe('ACTIVE');
    await assertLedgerInvariants(server.app.db.db, pid);
    expect(await assertRunsMatchFills(server.app.db.db, pid)).toEqual([]);
  });

  it('exits half keeping the weights, then all of it (EXITED); a fraction outside (0, 1] is BAD_USER_INPUT', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, FIVE);
    const inv = await invest(server, u.token, sc.id, pid, '150000');
    await waitForRun(server, u.token, inv.runs[0].id);
    const start = await getInvestment(server, u.token, inv.id);
    for (const f of ['0', '1.5', '-0.1', 'abc']) {
      const r = await gql(server, `mutation($i:ID!,$f:Decimal!){ exitSmallcase(investmentId:$i, fraction:$f){ id } }`, { i: inv.id, f }, u.token);
      expect(r.errors?.[0]?.extensions, `fraction ${f}`).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
    const half = await must<{ exitSmallcase: { id: string } }>(server, `mutation($i:ID!){ exitSmallcase(investmentId:$i, fraction:"0.5"){ id } }`, { i: inv.id }, u.token);
    const r1 = await waitForRun(server, u.token, half.exitSmallcase.id);
    expect(r1.status).toBe('COMPLETED');
    const mid = await getInvestment(server, u.token, inv.id);
    for (const h of start.holdings) {
      const m = mid.holdings.find((x: { instrument: { symbol: string } }) => x.instrument.symbol === h.instrument.symbol);
      const expected = new Decimal(h.quantity).sub(new Decimal(h.quantity).mul('0.5').floor());
      expect(new Decimal(m.quantity).eq(expected), h.instrument.symbol).toBe(true);
    }
    const all = await must<{ exitSmallcase: { id: string } }>(server, `mutation($i:ID!){ exitSmallcase(investmentId:$i, fraction:"1"){ id } }`, { i: inv.id }, u.token);
    await waitForRun(server, u.token, all.exitSmallcase.id);
    const gone = await getInvestment(server, u.token, inv.id);
    expect(gone.status).toBe('EXITED');
    expect(gone.holdings.every((h: { quantity: string }) => new Decimal(h.quantity).isZero())).toBe(true);
    await assertLedgerInvariants(server.app.db.db, pid);
  });

  it('moves a portfolio to target quantities and weights: sells, then buys', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '300000' });
    const o = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'WIPRO', side: 'BUY', type: 'MARKET', quantity: '100' });
    await waitForStatus(server, u.token, o.id, ['FILLED']);
    const targets = [
      { symbol: 'WIPRO', targetQuantity: '40' },
      { symbol: 'ITC', targetQuantity: '30' },
      { symbol: 'INFY', targetWeight: '0.1' },
    ];
    const prev = await must<{ previewTargetPortfolio: { lines: { side: string; quantity: string; instrument: { symbol: string } }[] } }>(
      server,
      `query($p:ID!,$t:[TargetLine!]!){ previewTargetPortfolio(portfolioId:$p, targets:$t){ lines { side quantity instrument { symbol } } } }`,
      { p: pid, t: targets },
      u.token,
    );
    expect(prev.previewTargetPortfolio.lines.find((l) => l.instrument.symbol === 'WIPRO')).toMatchObject({ side: 'SELL', quantity: '60.00' });
    const run = await must<{ executeTargetPortfolio: { id: string; kind: string; status: string } }>(
      server,
      `mutation($p:ID!,$t:[TargetLine!]!){ executeTargetPortfolio(portfolioId:$p, targets:$t, clientRequestId:"tp-1"){ id kind status } }`,
      { p: pid, t: targets },
      u.token,
    );
    expect(run.executeTargetPortfolio).toMatchObject({ kind: 'TARGET', status: 'SELLING' });
    const done = await waitForRun(server, u.token, run.executeTargetPortfolio.id);
    expect(done.status).toBe('COMPLETED');
    const pos = (await portfolioState(server, u.token, pid)).positions;
    const q = (s: string) => pos.find((p) => p.instrument.symbol === s)?.quantity;
    expect(done.summary.map((l: { side: string; instrument: { symbol: string } }) => l.side + ' ' + l.instrument.symbol).sort()).toEqual(['BUY INFY', 'BUY ITC', 'SELL WIPRO']);
    expect(new Decimal(q('WIPRO')!).eq(40)).toBe(true);
    expect(new Decimal(q('ITC')!).eq(30)).toBe(true);
    expect(new Decimal(q('INFY') ?? 0).gt(0)).toBe(true);
    const bad = await gql(server, `mutation($p:ID!,$t:[TargetLine!]!){ executeTargetPortfolio(portfolioId:$p, targets:$t){ id } }`, { p: pid, t: [{ symbol: 'AAPL', targetQuantity: '1' }] }, u.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'targets[0].symbol', reason: 'CURRENCY_MISMATCH' });
    await assertLedgerInvariants(server.app.db.db, pid);
    expect(await assertRunsMatchFills(server.app.db.db, pid)).toEqual([]);
  });

  it('uses INVEST_MORE to add an amount towards the weights', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, FIVE);
    const inv = await invest(server, u.token, sc.id, pid, '100000');
    await waitForRun(server, u.token, inv.runs[0].id);
    const more = await must<{ investMore: { id: string; kind: string } }>(server, `mutation($i:ID!){ investMore(investmentId:$i, amount:"50000"){ id kind } }`, { i: inv.id }, u.token);
    expect(more.investMore.kind).toBe('INVEST_MORE');
    await waitForRun(server, u.token, more.investMore.id);
    const after = await getInvestment(server, u.token, inv.id);
    expect(new Decimal(after.currentValue).gt(new Decimal(inv.currentValue).add(40000))).toBe(true);
    expect(after.runs).toHaveLength(2);
    void INVESTMENT_FIELDS;
  });
});
