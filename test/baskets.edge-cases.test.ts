import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basketRuns, smallcaseVersions } from '../src/db/schema/index.js';
import { Decimal } from '../src/lib/decimal.js';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { gql, must, newUser } from './support/gql.js';
import { createFundedPortfolio, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { createSmallcase, getInvestment, invest, waitForRun } from './support/baskets.js';

const PAIR = [
  { symbol: 'ITC', weight: '0.5' },
  { symbol: 'WIPRO', weight: '0.5' },
];

/** Edge cases of smallcases and their runs: archived baskets, unchanged versions, empty exits, exact books. */
describe.each(modes())('smallcase edge cases (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    for (const s of ['ITC', 'WIPRO', 'INFY', 'TCS', 'RELIANCE']) await waitForQuote(server, s);
  });
  afterAll(async () => {
    await server?.close();
  });

  const runsOf = async (investmentId: string) => server.app.db.db.select().from(basketRuns).where(eq(basketRuns.investmentId, investmentId));

  it('refuses investMore into an archived smallcase with INVALID_STATE, as investInSmallcase, and writes no run; exit still works', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, PAIR);
    const inv = await invest(server, u.token, sc.id, pid, '50000');
    await waitForRun(server, u.token, inv.runs[0].id);
    await must(server, `mutation($id:ID!){ archiveSmallcase(id:$id){ archived } }`, { id: sc.id }, u.token);

    const fresh = await gql(server, `mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"50000"){ id } }`, { s: sc.id, p: pid }, u.token);
    const more = await gql(server, `mutation($i:ID!){ investMore(investmentId:$i, amount:"10000"){ id } }`, { i: inv.id }, u.token);
    expect(fresh.errors?.[0]?.extensions?.code).toBe('INVALID_STATE');
    expect(more.errors?.[0]?.extensions?.code).toBe('INVALID_STATE');
    expect(more.errors?.[0]?.message).toBe(fresh.errors?.[0]?.message);
    expect(await runsOf(inv.id)).toHaveLength(1);

    // Taking money out of an archived basket stays allowed.
    const out = await must<{ exitSmallcase: { id: string } }>(server, `mutation($i:ID!){ exitSmallcase(investmentId:$i, fraction:"1"){ id } }`, { i: inv.id }, u.token);
    expect((await waitForRun(server, u.token, out.exitSmallcase.id)).status).toBe('COMPLETED');
  });

  it('updateSmallcase with the same constituents (other order, other spelling of the weights) keeps the version and flags no rebalance', async () => {
    const owner = await newUser(server);
    const investor = await newUser(server);
    const sc = await createSmallcase(server, owner.token, PAIR, { visibility: 'PUBLIC' });
    const pid = await createFundedPortfolio(server, investor.token, { amount: '500000' });
    const inv = await invest(server, investor.token, sc.id, pid, '50000');
    await waitForRun(server, investor.token, inv.runs[0].id);

    const upd = `mutation($id:ID!,$i:UpdateSmallcaseInput!){ updateSmallcase(id:$id, input:$i){ version name constituents { instrument { symbol } weight } } }`;
    const same = await must<{ updateSmallcase: { version: number; name: string } }>(
      server,
      upd,
      { id: sc.id, i: { name: 'renamed', rationale: 'no change', constituents: [{ symbol: 'wipro', exchange: 'NSE', weight: '0.50' }, { symbol: 'ITC', weight: '0.500000' }] } },
      owner.token,
    );
    expect(same.updateSmallcase).toMatchObject({ version: 1, name: 'renamed' });
    expect(await server.app.db.db.select().from(smallcaseVersions).where(eq(smallcaseVersions.smallcaseId, sc.id))).toHaveLength(1);
    expect((await getInvestment(server, investor.token, inv.id)).rebalanceAvailable).toBe(false);

    // A real change is still a new version.
    const changed = await must<{ updateSmallcase: { version: number } }>(
      server,
      upd,
      { id: sc.id, i: { rationale: 'tilt', constituents: [{ symbol: 'ITC', weight: '0.6' }, { symbol: 'WIPRO', weight: '0.4' }] } },
      owner.token,
    );
    expect(changed.updateSmallcase.version).toBe(2);
    expect((await getInvestment(server, investor.token, inv.id)).rebalanceAvailable).toBe(true);
  });

  it('refuses an exit whose fraction sells no whole lot with NOTHING_TO_SELL, and writes no run', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '500000' });
    const sc = await createSmallcase(server, u.token, PAIR);
    const inv = await invest(server, u.token, sc.id, pid, '50000');
    await waitForRun(server, u.token, inv.runs[0].id);
    const held = (await getInvestment(server, u.token, inv.id)).holdings as { quantity: string }[];
    // A fraction just below what one share of the largest holding needs: every line rounds to zero lots.
    const largest = held.reduce((m, h) => Decimal.max(m, new Decimal(h.quantity)), new Decimal(0));
    const fraction = new Decimal(1).div(largest).mul('0.99').toDecimalPlaces(8, Decimal.ROUND_DOWN).toFixed();
    for (const f of [fraction, '0.00000001']) {
      const r = await gql(server, `mutation($i:ID!,$f:Decimal!){ exitSmallcase(investmentId:$i, fraction:$f){ id } }`, { i: inv.id, f }, u.token);
      expect(r.errors?.[0]?.extensions, `fraction ${f}`).toMatchObject({ code: 'BAD_USER_INPUT', field: 'fraction', reason: 'NOTHING_TO_SELL' });
    }
    const tooFine = await gql(server, `mutation($i:ID!){ exitSmallcase(investmentId:$i, fraction:"0.000000001"){ id } }`, { i: inv.id }, u.token);
    expect(tooFine.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'fraction', reason: 'INVALID_FRACTION' });
    expect(await runsOf(inv.id)).toHaveLength(1);
    expect((await getInvestment(server, u.token, inv.id)).status).toBe('ACTIVE');
  });

  it('investedAmount is exactly what the fills cost (Σ quantity × price + fees), the cash the portfolio lost, after invest and a partial exit', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '3000000' });
    const sc = await createSmallcase(server, u.token, [
      { symbol: 'RELIANCE', weight: '0.4' },
      { symbol: 'TCS', weight: '0.35' },
      { symbol: 'INFY', weight: '0.25' },
    ]);
    const inv = await invest(server, u.token, sc.id, pid, '2500000');
    await waitForRun(server, u.token, inv.runs[0].id);
    const out = await must<{ exitSmallcase: { id: string } }>(server, `mutation($i:ID!){ exitSmallcase(investmentId:$i, fraction:"0.3"){ id } }`, { i: inv.id }, u.token);
    await waitForRun(server, u.token, out.exitSmallcase.id);

    const d = await must<{ investment: { investedAmount: string; runs: { orders: { side: string; fills: { quantity: string; price: string; fee: string }[] }[] }[] }; portfolio: { cash: string } }>(
      server,
      `query($i:ID!,$p:ID!){ investment(id:$i){ investedAmount runs { orders { side fills { quantity price fee } } } } portfolio(id:$p){ cash } }`,
      { i: inv.id, p: pid },
      u.token,
    );
    // Buys: what left the cash (notional + fees); sells: what came back (notional − fees).
    let expected = new Decimal(0);
    let fills = 0;
    for (const run of d.investment.runs) {
      for (const o of run.orders) {
        for (const f of o.fills) {
          const notional = new Decimal(f.quantity).mul(f.price);
          expected = o.side === 'BUY' ? expected.add(notional).add(f.fee) : expected.sub(notional).add(f.fee);
          fills++;
        }
      }
    }
    expect(fills).toBeGreaterThan(3);
    expect(new Decimal(d.investment.investedAmount).eq(expected), `${d.investment.investedAmount} = ${expected.toFixed()}`).toBe(true);
    expect(new Decimal(3000000).sub(d.portfolio.cash).eq(expected)).toBe(true);
  });

  it('previewTargetPortfolio reports weights of the whole portfolio after the plan, echoes the target weight, and shows a target out of reach as deviation', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '300000' });
    const o = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'ITC', side: 'BUY', type: 'MARKET', quantity: '100' });
    await waitForStatus(server, u.token, o.id, ['FILLED']);
    type Line = { instrument: { symbol: string }; side: string; quantity: string; estimatedPrice: string; targetWeight: string | null; resultingWeight: string | null };
    type Preview = { previewTargetPortfolio: { lines: Line[]; estimatedFees: string; maxWeightDeviation: number } };
    const q = `query($p:ID!,$t:[TargetLine!]!){ previewTargetPortfolio(portfolioId:$p, targets:$t){ estimatedFees maxWeightDeviation lines { instrument { symbol } side quantity estimatedPrice targetWeight resultingWeight } } }`;
    // Hold the market still so the quotes read here are the ones the preview uses.
    const market = server.app.market()!;
    await market.stop();
    await new Promise((r) => setTimeout(r, 500));
    try {
      const last = (s: string) => new Decimal(server.app.quotes.get(s, 'NSE')!.last);
      const state = await portfolioState(server, u.token, pid);
      const itcHeld = new Decimal(state.positions.find((p) => p.instrument.symbol === 'ITC')!.quantity);
      const total = new Decimal(state.cash).add(itcHeld.mul(last('ITC')));
      /** The portfolio's value after the plan: less the fees, buys valued at last though paid at the ask. */
      const after = (p: Preview['previewTargetPortfolio']) =>
        p.lines.reduce((a, l) => a.add(new Decimal(l.quantity).mul(last(l.instrument.symbol).sub(l.estimatedPrice))), total.sub(p.estimatedFees));

      // 0.9 in WIPRO is out of reach of the cash: what it buys is its weight, far from 0.9.
      const one = (await must<Preview>(server, q, { p: pid, t: [{ symbol: 'WIPRO', targetWeight: '0.9' }] }, u.token)).previewTargetPortfolio;
      expect(one.lines).toHaveLength(1);
      const w = one.lines[0];
      const wWeight = new Decimal(w.quantity).mul(last('WIPRO')).div(after(one));
      expect(new Decimal(w.targetWeight!).eq('0.9'), `${w.targetWeight}`).toBe(true);
      expect(new Decimal(w.resultingWeight!).eq(wWeight.toDecimalPlaces(6)), `${w.resultingWeight} = ${wWeight}`).toBe(true);
      expect(wWeight.lt('0.9')).toBe(true);
      expect(one.maxWeightDeviation).toBeCloseTo(new Decimal('0.9').sub(wWeight).toNumber(), 12);

      // A weight line and a quantity line: each weight is of the whole portfolio; the quantity line has no target weight.
      const two = (await must<Preview>(server, q, { p: pid, t: [{ symbol: 'WIPRO', targetWeight: '0.1' }, { symbol: 'ITC', targetQuantity: '150' }] }, u.token)).previewTargetPortfolio;
      const total2 = after(two);
      const wl = two.lines.find((l) => l.instrument.symbol === 'WIPRO')!;
      const il = two.lines.find((l) => l.instrument.symbol === 'ITC')!;
      expect(il).toMatchObject({ side: 'BUY', quantity: '50.00', targetWeight: null });
      const ww = new Decimal(wl.quantity).mul(last('WIPRO')).div(total2);
      const iw = new Decimal(150).mul(last('ITC')).div(total2);
      expect(new Decimal(wl.targetWeight!).eq('0.1')).toBe(true);
      expect(new Decimal(wl.resultingWeight!).eq(ww.toDecimalPlaces(6))).toBe(true);
      expect(new Decimal(il.resultingWeight!).eq(iw.toDecimalPlaces(6))).toBe(true);
      expect(new Decimal(wl.resultingWeight!).add(il.resultingWeight!).lt(1)).toBe(true);
      // ITC reaches its quantity (deviation 0): the deviation is WIPRO's, short of 0.1 by its rounding to shares and the fees.
      expect(two.maxWeightDeviation).toBeCloseTo(new Decimal('0.1').sub(ww).abs().toNumber(), 12);
    } finally {
      market.start();
    }
  });
});
