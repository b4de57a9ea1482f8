import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { TestServer } from './server.js';
import { must, waitFor } from './gql.js';
import type { Db } from '../../src/db/client.js';

export const ORDER_FIELDS = 'id clientOrderId status side type quantity filledQuantity averageFillPrice limitPrice feesPaid rejectReason brokerOrderId';

export async function createFundedPortfolio(server: TestServer, token: string, opts: { currency?: string; amount?: string; name?: string } = {}) {
  const d = await must<{ createPortfolio: { id: string } }>(
    server,
    `mutation($n:String!,$c:String){ createPortfolio(name:$n, baseCurrency:$c){ id } }`,
    { n: opts.name ?? `p-${Math.random().toString(36).slice(2)}`, c: opts.currency ?? 'INR' },
    token,
  );
  if (opts.amount !== '0') {
    await must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: d.createPortfolio.id, a: opts.amount ?? '1000000' }, token);
  }
  return d.createPortfolio.id;
}

export async function placeOrder(server: TestServer, token: string, input: Record<string, unknown>) {
  return must<{ placeOrder: Record<string, any> }>(
    server,
    `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ ${ORDER_FIELDS} } }`,
    { i: input },
    token,
  ).then((d) => d.placeOrder);
}

export async function getOrder(server: TestServer, token: string, id: string) {
  const d = await must<{ order: Record<string, any> }>(server, `query($id:ID!){ order(id:$id){ ${ORDER_FIELDS} fills { id quantity price fee } } }`, { id }, token);
  return d.order;
}

export async function waitForStatus(server: TestServer, token: string, id: string, statuses: string[], timeoutMs = 15_000) {
  let last: Record<string, any> | undefined;
  await waitFor(
    `order ${id} to reach ${statuses.join('/')}`,
    async () => {
      last = await getOrder(server, token, id);
      return statuses.includes(last.status);
    },
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`);
  });
  return last!;
}

export async function portfolioState(server: TestServer, token: string, id: string) {
  const d = await must<{ portfolio: { cash: string; availableCash: string; positions: { quantity: string; averageCost: string; realizedPnl: string; instrument: { symbol: string } }[] } }>(
    server,
    `query($id:ID!){ portfolio(id:$id){ cash availableCash marketValue totalValue positions { quantity averageCost realizedPnl marketPrice instrument { symbol } } } }`,
    { id },
    token,
  );
  return d.portfolio;
}

/** Wait until the simulated market has a quote for the symbol, in this process's cache. */
export async function waitForQuote(server: TestServer, symbol: string, exchange = 'NSE') {
  await waitFor(`a quote for ${symbol}`, () => server.app.quotes.get(symbol, exchange) !== null, 10_000);
  return server.app.quotes.get(symbol, exchange)!;
}

type Row = Record<string, unknown>;
async function rows(db: Db, q: ReturnType<typeof sql>): Promise<Row[]> {
  const r = (await db.execute(q)) as unknown as { rows?: Row[] } | Row[];
  return Array.isArray(r) ? r : (r.rows ?? []);
}

/**
 * DESIGN §4's ledger invariants, checked in SQL: cash = sum of ledger entries; position quantity = sum
 * of signed fills; no open hold on a finished order; cash moved by fills = their notional and fees.
 */
export async function assertLedgerInvariants(db: Db, portfolioId: string) {
  const [cash] = await rows(
    db,
    sql`select p.cash::text as cash, coalesce((select sum(amount) from ledger_entries l where l.portfolio_id = p.id), 0)::text as ledger,
               p.cash = coalesce((select sum(amount) from ledger_entries l where l.portfolio_id = p.id), 0) as equal
        from portfolios p where p.id = ${portfolioId}`,
  );
  expect(cash, 'cash equals the sum of the ledger').toMatchObject({ equal: true });
  const badPositions = await rows(
    db,
    sql`select pos.instrument_id, pos.quantity::text, coalesce(sum(case when o.side = 'BUY' then f.quantity else -f.quantity end), 0)::text as fills
        from positions pos
        left join orders o on o.portfolio_id = pos.portfolio_id and o.instrument_id = pos.instrument_id
        left join fills f on f.order_id = o.id
        where pos.portfolio_id = ${portfolioId}
        group by pos.instrument_id, pos.quantity
        having pos.quantity <> coalesce(sum(case when o.side = 'BUY' then f.quantity else -f.quantity end), 0)`,
  );
  expect(badPositions).toEqual([]);
  const orphanHolds = await rows(
    db,
    sql`select h.id from holds h join orders o on o.id = h.order_id
        where h.portfolio_id = ${portfolioId} and h.released_at is null and o.status in ('FILLED','CANCELED','REJECTED','EXPIRED','FAILED')`,
  );
  expect(orphanHolds).toEqual([]);
  // Each fill's TRADE line is its quantity × price (signed), exactly when that is whole paise; otherwise
  // (a pooled child's share of a crossed or sub-paisa execution) whole paise within one paisa of it. Fees
  // exactly. Compared in SQL, to the last digit.
  const [trade] = await rows(
    db,
    sql`select count(*)::int as fills,
               count(*) filter (where l.amount is null or abs(l.amount - x.v) >= 0.01 or (round(x.v, 2) = x.v and l.amount <> x.v))::int as bad,
               coalesce((select sum(amount) from ledger_entries where portfolio_id = ${portfolioId} and kind = 'FEE'), 0)
                 = -coalesce((select sum(fee) from fills where portfolio_id = ${portfolioId}), 0) as fees_equal
        from (select f.id, case when o.side = 'BUY' then -f.quantity * f.price else f.quantity * f.price end as v
              from fills f join orders o on o.id = f.order_id where f.portfolio_id = ${portfolioId}) x
        left join ledger_entries l on l.fill_id = x.id and l.kind = 'TRADE'`,
  );
  expect(trade, 'trade and fee lines equal the fills').toMatchObject({ bad: 0, fees_equal: true });
}
