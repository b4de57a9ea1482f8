/**
 * A dashboard's read (a portfolio, its positions with instruments, its last orders with instruments and
 * fills) answers each order with its own fills, and costs the same number of SQL statements for 2 orders
 * as for 6: lists are loaded in batches (DataLoader), never one query per row. The statement count comes
 * from the server's `db_statements_total`, which postgres.js feeds (scaled mode); the embedded mode checks
 * the answers only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { must, newUser } from './support/gql.js';
import { createFundedPortfolio, placeOrder, waitForQuote, waitForStatus } from './support/trading.js';

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
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '600000', BASKET_SWEEP_MS: '600000' } });
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
      // The whole read: the caller's role (read fresh on every request), the access policy's ownership
      // check, then portfolio, balances, positions, instruments, orders and their fills (measured: 14).
      expect(six.statements!).toBeLessThanOrEqual(15);
    }
  });
});
