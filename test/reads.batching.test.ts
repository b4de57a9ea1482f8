/**
 * A dashboard's read (a portfolio, its positions with instruments, its last orders with instruments and
 * fills) answers each order with its own fills, and costs the same number of SQL statements for 2 orders
 * as for 6: lists are loaded in batches, never one query per row. The portfolio with its held cash and
 * positions is one statement, the order page with its fills another (the selection is looked ahead and
 * the loaders primed), and the answers match the per-part loaders'. A list of portfolios reads the cash,
 * holds and positions of all of them in one statement (one snapshot each), not three per portfolio. The statement count comes
 * from the server's `db_statements_total`, which postgres.js feeds (scaled mode); the embedded mode checks
 * the answers only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeepStrictEqual } from 'node:util';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { must, newUser } from './support/gql.js';
import { createFundedPortfolio, placeOrder, waitForQuote, waitForStatus } from './support/trading.js';
import { Decimal } from '../src/lib/decimal.js';

const FULL = `query($p: ID!) { portfolio(id: $p) { id cash positions { quantity instrument { symbol } }
  orders(first: 20) { edges { node { id quantity instrument { symbol } fills { quantity price } } } } } }`;

interface Full {
  portfolio: {
    positions: { quantity: string; instrument: { symbol: string } }[];
    orders: { edges: { node: { id: string; quantity: string; instrument: { symbol: string }; fills: { quantity: string; price: string }[] } }[] };
  };
}

async function statements(server: TestServer): Promise<number | null> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = /^db_statements_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

describe.each(modes())('portfolio reads without N+1 (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    // The statement counter is per process: keep the periodic sweeps (pooled windows, basket runs) from
    // landing inside a measured read, so the samples measure the read alone.
    // The market ticks every 4 s here (200 ms elsewhere): each tick of each symbol is a statement of the
    // paper exchange's matching, which would land inside the measured reads.
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '600000', BASKET_SWEEP_MS: '600000', MARKET_TICK_MS: '4000' } });
    await Promise.all(['RELIANCE', 'TCS', 'INFY'].map((s) => waitForQuote(server, s)));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers each order with its own fills, in no more statements for 6 orders than for 2', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '10000000' });
    const symbols = ['RELIANCE', 'TCS', 'INFY'];
    const place = async (n: number, from: number) => {
      const placed = await Promise.all(
        Array.from({ length: n }, (_, i) => placeOrder(server, u.token, { portfolioId: pid, symbol: symbols[(from + i) % 3], side: 'BUY', type: 'MARKET', quantity: String(from + i + 1) })),
      );
      for (const o of placed) await waitForStatus(server, u.token, o.id, ['FILLED']);
    };
    // The fewest statements over ten reads: background work of the same process (market feed, relay)
    // can only add to a sample, never take away. The first read may warm caches (instruments).
    const cost = async (): Promise<{ data: Full; statements: number | null }> => {
      let data = await must<Full>(server, FULL, { p: pid }, u.token);
      let fewest: number | null = null;
      for (let i = 0; i < 10; i++) {
        const before = await statements(server);
        data = await must<Full>(server, FULL, { p: pid }, u.token);
        const after = await statements(server);
        if (before !== null && after !== null) fewest = Math.min(fewest ?? Infinity, after - before);
      }
      return { data, statements: fewest };
    };

    await place(2, 0);
    const two = await cost();
    await place(4, 2);
    const six = await cost();

    const edges = six.data.portfolio.orders.edges;
    expect(edges).toHaveLength(6);
    for (const { node } of edges) {
      // Each order was one market buy of quantity n, filled at once: one fill of exactly that quantity.
      expect(node.fills).toHaveLength(1);
      expect(node.fills[0].quantity).toBe(node.quantity);
    }
    expect(new Set(edges.map((e) => e.node.instrument.symbol))).toEqual(new Set(symbols));
    expect(six.data.portfolio.positions).toHaveLength(3);
    if (mode === 'scaled') {
      expect(two.statements, 'the server counts its statements').not.toBeNull();
      // One query per row would add at least 4 (fills of 4 more orders); the same process's background
      // work (market feed, relay) may still add one to the fewest of five samples.
      expect(six.statements! - two.statements!).toBeLessThanOrEqual(1);
      // The whole read: the caller's role (read fresh on every request), then the portfolio with its held
      // cash and positions (one statement), then the order page with its fills (one statement). The
      // instruments come from the instrument cache, warmed by the first read.
      expect(six.statements!).toBeLessThanOrEqual(3);
    }
  });

  it('reads a list of portfolios with cash, positions and totalValue in the same statements for 4 portfolios as for 1, each total its own cash plus its positions', async () => {
    const u = await newUser(server);
    const LIST = `{ portfolios { id cash availableCash marketValue totalValue positions { quantity marketValue instrument { symbol } } owner { email } } }`;
    interface Listed {
      portfolios: { id: string; cash: string; availableCash: string; marketValue: string; totalValue: string; positions: { quantity: string; marketValue: string | null; instrument: { symbol: string } }[]; owner: { email: string } }[];
    }
    const fund = async (symbol: string) => {
      const pid = await createFundedPortfolio(server, u.token, { amount: '1000000' });
      const o = await placeOrder(server, u.token, { portfolioId: pid, symbol, side: 'BUY', type: 'MARKET', quantity: '2' });
      await waitForStatus(server, u.token, o.id, ['FILLED']);
    };
    // The fewest statements of ten reads (background work of the process can only add to a sample).
    const cost = async (): Promise<{ data: Listed; statements: number | null }> => {
      let data = await must<Listed>(server, LIST, {}, u.token);
      let fewest: number | null = null;
      for (let i = 0; i < 10; i++) {
        const before = await statements(server);
        data = await must<Listed>(server, LIST, {}, u.token);
        const after = await statements(server);
        if (before !== null && after !== null) fewest = Math.min(fewest ?? Infinity, after - before);
      }
      return { data, statements: fewest };
    };
    await fund('RELIANCE');
    const one = await cost();
    for (const symbol of ['TCS', 'INFY', 'RELIANCE']) await fund(symbol);
    const four = await cost();

    expect(four.data.portfolios).toHaveLength(4);
    for (const p of four.data.portfolios) {
      expect(p.owner.email).toBe(u.email);
      expect(p.positions).toHaveLength(1);
      expect(p.positions[0].quantity).toMatch(/^2(\.0+)?$/);
      // One snapshot per portfolio: the total is this answer's cash plus this answer's positions.
      const positionsValue = p.positions.reduce((acc, x) => acc.add(x.marketValue ?? 0), new Decimal(0));
      expect(new Decimal(p.marketValue).eq(positionsValue.toDecimalPlaces(2))).toBe(true);
      expect(new Decimal(p.totalValue).eq(new Decimal(p.cash).add(positionsValue).toDecimalPlaces(2))).toBe(true);
      expect(new Decimal(p.cash).lt('1000000')).toBe(true);
    }
    if (mode === 'scaled') {
      expect(one.statements, 'the server counts its statements').not.toBeNull();
      // A statement per portfolio (or three: its cash, its holds, its positions) would add at least 3.
      expect(four.statements! - one.statements!).toBeLessThanOrEqual(1);
      // The caller's role, the list, the balances and positions of all of them, their owners.
      expect(four.statements!).toBeLessThanOrEqual(4);
    }
  });

  it('answers the one-statement read exactly as the per-part loaders do (holds, closed positions, fragments, pages, status filters)', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '5000000' });
    for (const [i, symbol] of ['RELIANCE', 'TCS'].entries()) {
      const o = await placeOrder(server, u.token, { portfolioId: pid, symbol, side: 'BUY', type: 'MARKET', quantity: String(3 + i) });
      await waitForStatus(server, u.token, o.id, ['FILLED']);
    }
    // Sell all of TCS: a closed position that stays listed for its realised P&L.
    const sold = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'TCS', side: 'SELL', type: 'MARKET', quantity: '4' });
    await waitForStatus(server, u.token, sold.id, ['FILLED']);
    // A resting buy far below the market: its hold makes availableCash differ from cash.
    const quote = await must<{ quote: { last: string } }>(server, `{ quote(symbol: "INFY") { last } }`, {}, u.token);
    const limit = Math.floor(Number(quote.quote.last) / 2).toFixed(2); // about half, in whole rupees (on any tick grid)
    const resting = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'LIMIT', quantity: '2', limitPrice: limit });
    await waitForStatus(server, u.token, resting.id, ['OPEN']);

    const fields = `id cash availableCash marketValue totalValue positions { quantity averageCost realizedPnl instrument { symbol } }
      orders(first: 2) { edges { cursor node { id status quantity fills { quantity price fee executedAt } } } pageInfo { hasNextPage endCursor } }
      filled: orders(first: 10, status: [FILLED]) { edges { node { id fills { quantity price fee executedAt } } } }`;
    // `portfolios` reads the parts through the per-request loaders (balances and positions of the whole list
    // in one statement, fills by order); `portfolio(id)` reads them in two statements. No fills in flight, so the answers must match, but a
    // market tick between the reads moves marketValue: read the three again (a few times) until no tick
    // fell between them. A read that differs for any other reason differs every time and fails.
    const read = async () => {
      const viaLoaders = await must<{ portfolios: Record<string, unknown>[] }>(server, `{ portfolios { ${fields} } }`, {}, u.token);
      const direct = await must<{ portfolio: Record<string, unknown> }>(server, `query($p: ID!) { portfolio(id: $p) { ${fields} } }`, { p: pid }, u.token);
      const viaFragments = await must<{ portfolio: Record<string, unknown> }>(
        server,
        `query($p: ID!) { portfolio(id: $p) { ...P } }
         fragment P on Portfolio { id ... on Portfolio { cash availableCash } marketValue totalValue positions { quantity averageCost realizedPnl instrument { symbol } }
           orders(first: 2) { edges { cursor node { id status quantity ...F } } pageInfo { hasNextPage endCursor } }
           filled: orders(first: 10, status: [FILLED]) { edges { node { id ... on Order { fills { quantity price fee executedAt } } } } } }
         fragment F on Order { fills { quantity price fee executedAt } }`,
        { p: pid },
        u.token,
      );
      return { mine: viaLoaders.portfolios.find((p) => p.id === pid), direct, viaFragments };
    };
    let r = await read();
    const same = (x: typeof r) => isDeepStrictEqual(x.direct.portfolio, x.mine) && isDeepStrictEqual(x.viaFragments.portfolio, x.mine);
    for (let attempt = 1; attempt < 6 && !same(r); attempt++) r = await read();
    const { mine, direct, viaFragments } = r;
    expect(direct.portfolio).toEqual(mine);
    expect(viaFragments.portfolio).toEqual(mine);

    const p = direct.portfolio as {
      cash: string; availableCash: string;
      positions: { quantity: string; instrument: { symbol: string } }[];
      orders: { edges: { node: { id: string; status: string; fills: unknown[] } }[]; pageInfo: { hasNextPage: boolean } };
      filled: { edges: { node: { id: string; fills: unknown[] } }[] };
    };
    // The hold of the resting order: available = cash - 2 x limit (and a little for fees, never more).
    expect(Number(p.availableCash)).toBeLessThan(Number(p.cash) - 2 * Number(limit) + 0.01);
    expect(p.positions.map((x) => x.instrument.symbol).sort()).toEqual(['RELIANCE', 'TCS']);
    expect(p.positions.find((x) => x.instrument.symbol === 'TCS')!.quantity).toMatch(/^0(\.0+)?$/);
    expect(p.orders.edges.map((e) => e.node.id)).toEqual([resting.id, sold.id]);
    expect(p.orders.edges[0].node.fills).toEqual([]);
    expect(p.orders.pageInfo.hasNextPage).toBe(true);
    expect(p.filled.edges).toHaveLength(3);
    for (const e of p.filled.edges) expect(e.node.fills).toHaveLength(1);
    // `order(id)` reads its fills through the fills loader (its own statement): the page's joined fills match.
    for (const e of [...p.orders.edges, ...p.filled.edges]) {
      const one = await must<{ order: { fills: unknown[] } }>(server, `query($id: ID!) { order(id: $id) { fills { quantity price fee executedAt } } }`, { id: e.node.id }, u.token);
      expect(e.node.fills).toEqual(one.order.fills);
    }
  });
});
