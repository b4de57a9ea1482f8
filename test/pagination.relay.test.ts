import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { must, newUser } from './support/gql.js';
import { createFundedPortfolio, placeOrder, waitForQuote } from './support/trading.js';

type Page = { edges: { cursor: string; node: { id: string } }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } };

/** Connections carry the whole Relay PageInfo: hasNextPage, hasPreviousPage, startCursor, endCursor. */
describe.each(modes())('Relay PageInfo on connections (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    await waitForQuote(server, 'ITC');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('pages orders forward: startCursor is the first edge, hasPreviousPage is false on the first page and true after a cursor, an empty page has null cursors', async () => {
    const u = await newUser(server);
    const pid = await createFundedPortfolio(server, u.token, { amount: '100000' });
    for (let i = 0; i < 3; i++) await placeOrder(server, u.token, { portfolioId: pid, symbol: 'ITC', side: 'BUY', type: 'MARKET', quantity: '1' });
    const page = async (after: string | null) =>
      (
        await must<{ portfolio: { orders: Page } }>(
          server,
          `query($p:ID!,$a:String){ portfolio(id:$p){ orders(first:2, after:$a){ edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`,
          { p: pid, a: after },
          u.token,
        )
      ).portfolio.orders;

    const first = await page(null);
    expect(first.edges).toHaveLength(2);
    expect(first.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: first.edges[0].cursor, endCursor: first.edges[1].cursor });
    const second = await page(first.pageInfo.endCursor);
    expect(second.edges).toHaveLength(1);
    expect(second.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: second.edges[0].cursor, endCursor: second.edges[0].cursor });
    const empty = await page(second.pageInfo.endCursor);
    expect(empty.edges).toHaveLength(0);
    expect(empty.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
  });
});
