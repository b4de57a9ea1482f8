/**
 * Small GraphQL and SQL helpers for the process tests: they talk to an api process by URL (the helpers of
 * test/support/trading.ts want an in-process TestServer) and read the shared database directly.
 */
import type { SQL } from 'drizzle-orm';
import type { Db } from '../../src/db/client.js';
import { Rounding, dec, fmt, roundToStep } from '../../src/lib/decimal.js';
import { gql, must, waitFor } from '../support/gql.js';
import { ORDER_FIELDS } from '../support/trading.js';

export interface Endpoint {
  url: string;
}

export async function createFundedPortfolio(api: Endpoint, token: string, amount: string): Promise<string> {
  const d = await must<{ createPortfolio: { id: string } }>(
    api,
    `mutation($n:String!){ createPortfolio(name:$n, baseCurrency:"INR"){ id } }`,
    { n: `p-${Math.random().toString(36).slice(2)}` },
    token,
  );
  await must(api, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: d.createPortfolio.id, a: amount }, token);
  return d.createPortfolio.id;
}

export type OrderView = { id: string; status: string; quantity: string; filledQuantity: string; brokerOrderId: string | null; [k: string]: unknown };

export async function placeOrder(api: Endpoint, token: string, input: Record<string, unknown>): Promise<OrderView> {
  const d = await must<{ placeOrder: OrderView }>(api, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ ${ORDER_FIELDS} } }`, { i: input }, token);
  return d.placeOrder;
}

export async function cancelOrder(api: Endpoint, token: string, id: string): Promise<OrderView> {
  const d = await must<{ cancelOrder: OrderView }>(api, `mutation($id:ID!){ cancelOrder(id:$id){ ${ORDER_FIELDS} } }`, { id }, token);
  return d.cancelOrder;
}

export async function getOrder(api: Endpoint, token: string, id: string): Promise<OrderView> {
  return (await must<{ order: OrderView }>(api, `query($id:ID!){ order(id:$id){ ${ORDER_FIELDS} } }`, { id }, token)).order;
}

export async function waitForStatus(api: Endpoint, token: string, id: string, statuses: string[], timeoutMs = 20_000): Promise<OrderView> {
  let last: OrderView | undefined;
  await waitFor(
    `order ${id} to reach ${statuses.join('/')}`,
    async () => {
      last = await getOrder(api, token, id);
      return statuses.includes(last.status);
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen ${JSON.stringify(last)}`);
  });
  return last!;
}

export interface Market {
  symbol: string;
  tickSize: string;
  bid: string;
  ask: string;
  last: string;
}

/**
 * The api's view of a symbol (its quote cache, fed over Redis by the worker that leads the market),
 * polled until a quote with an ask is there.
 */
export async function waitForMarket(api: Endpoint, token: string, symbol: string, timeoutMs = 20_000): Promise<Market> {
  let market: Market | undefined;
  await waitFor(
    `a quote for ${symbol} on ${api.url}`,
    async () => {
      const r = await gql<{ instruments: { symbol: string; tickSize: string; quote: { bid: string | null; ask: string | null; last: string } | null }[] }>(
        api,
        `query($s:String!){ instruments(search:$s, first:5){ symbol tickSize quote { bid ask last } } }`,
        { s: symbol },
        token,
      );
      const i = r.data?.instruments.find((x) => x.symbol === symbol);
      if (!i?.quote?.ask || !i.quote.bid) return false;
      market = { symbol, tickSize: i.tickSize, bid: i.quote.bid, ask: i.quote.ask, last: i.quote.last };
      return true;
    },
    timeoutMs,
  );
  return market!;
}

/** A price `factor` times `ref`, on the tick grid (rounded up or down). */
export function priceAt(ref: string, factor: string, tickSize: string, rounding: 'up' | 'down'): string {
  return fmt(roundToStep(dec(ref).mul(factor), tickSize, rounding === 'up' ? Rounding.UP : Rounding.DOWN), 2);
}

/** Rows of a raw SQL query (postgres.js returns an array; PGlite would return { rows }). */
export async function rows<T = Record<string, unknown>>(db: Db, q: SQL): Promise<T[]> {
  const r = (await db.execute(q)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(r) ? r : (r.rows ?? []);
}
