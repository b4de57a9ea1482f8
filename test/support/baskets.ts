import { sql } from 'drizzle-orm';
import { expect } from 'vitest';
import type { TestServer } from './server.js';
import { gql, must, waitFor } from './gql.js';
import type { Db } from '../../src/db/client.js';

export const RUN_FIELDS = 'id kind status completedAt orders { id side status quantity filledQuantity } summary { instrument { symbol } side quantity filledQuantity averagePrice status reason }';
export const INVESTMENT_FIELDS =
  'id version status investedAmount currentValue drift rebalanceAvailable smallcase { id version } holdings { instrument { symbol } quantity averageCost targetQuantity targetWeight currentWeight marketValue } runs { id kind status }';

export async function createSmallcase(server: TestServer, token: string, constituents: { symbol: string; weight: string }[], opts: { name?: string; visibility?: string } = {}) {
  const d = await must<{ createSmallcase: { id: string; version: number; minimumInvestment: string; currency: string } }>(
    server,
    `mutation($i:CreateSmallcaseInput!){ createSmallcase(input:$i){ id version minimumInvestment currency indexValue } }`,
    { i: { name: opts.name ?? `sc-${Math.random().toString(36).slice(2)}`, visibility: opts.visibility ?? 'PRIVATE', constituents } },
    token,
  );
  return d.createSmallcase;
}

export async function getInvestment(server: TestServer, token: string, id: string) {
  const d = await must<{ investment: Record<string, any> }>(server, `query($id:ID!){ investment(id:$id){ ${INVESTMENT_FIELDS} } }`, { id }, token);
  return d.investment;
}

export async function getRun(server: TestServer, token: string, id: string) {
  const d = await must<{ basketRun: Record<string, any> }>(server, `query($id:ID!){ basketRun(id:$id){ ${RUN_FIELDS} } }`, { id }, token);
  return d.basketRun;
}

export async function waitForRun(server: TestServer, token: string, id: string, statuses = ['COMPLETED', 'PARTIAL', 'FAILED'], timeoutMs = 30_000) {
  let last: Record<string, any> | undefined;
  await waitFor(
    `run ${id} to end`,
    async () => {
      last = await getRun(server, token, id);
      return statuses.includes(last.status);
    },
    timeoutMs,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`);
  });
  return last!;
}

/** Invest and wait for the first run to end. */
export async function invest(server: TestServer, token: string, smallcaseId: string, portfolioId: string, amount: string, clientRequestId?: string) {
  const r = await gql<{ investInSmallcase: Record<string, any> }>(
    server,
    `mutation($s:ID!,$p:ID!,$a:Decimal!,$c:String){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:$a, clientRequestId:$c){ ${INVESTMENT_FIELDS} } }`,
    { s: smallcaseId, p: portfolioId, a: amount, c: clientRequestId ?? null },
    token,
  );
  if (r.errors?.length) throw new Error(`invest failed: ${JSON.stringify(r.errors)}`);
  return r.data!.investInSmallcase;
}

async function rows(db: Db, q: ReturnType<typeof sql>) {
  const r = (await db.execute(q)) as unknown as { rows?: Record<string, string>[] } | Record<string, string>[];
  return (Array.isArray(r) ? r : (r.rows ?? [])) as Record<string, any>[];
}

/**
 * Checked in SQL: every ended run's summary matches its orders (quantity, filled, status) and each
 * order's filled quantity equals the sum of its fills; an investment's holdings equal the net fills of
 * its runs' orders.
 */
export async function assertRunsMatchFills(db: Db, portfolioId: string) {
  const bad = await rows(
    db,
    sql`select r.id, o.id as order_id
        from basket_runs r
        join basket_run_orders bro on bro.run_id = r.id
        join orders o on o.id = bro.order_id
        left join lateral (select coalesce(sum(f.quantity), 0) as filled from fills f where f.order_id = o.id) f on true
        where r.portfolio_id = ${portfolioId} and r.summary is not null
          and (o.filled_quantity <> f.filled
               or not exists (select 1 from jsonb_array_elements(r.summary) s
                              where s->>'orderId' = o.id::text and (s->>'filledQuantity')::numeric = f.filled
                                and (s->>'quantity')::numeric = o.quantity and s->>'status' = o.status::text))`,
  );
  expect(bad, 'every summary line matches its order and fills').toEqual([]);
  const drift = await rows(
    db,
    sql`select h.investment_id, h.instrument_id, h.quantity::text, coalesce(x.net, 0)::text as net
        from investment_holdings h
        join smallcase_investments i on i.id = h.investment_id
        left join lateral (
          select sum(case when o.side = 'BUY' then f.quantity else -f.quantity end) as net
          from basket_runs r join basket_run_orders bro on bro.run_id = r.id join orders o on o.id = bro.order_id join fills f on f.order_id = o.id
          where r.investment_id = h.investment_id and o.instrument_id = h.instrument_id and r.summary is not null) x on true
        where i.portfolio_id = ${portfolioId} and i.status not in ('OUT_OF_SYNC') and h.quantity <> coalesce(x.net, 0)`,
  );
  return drift;
}

/** Per order (of one portfolio, or all): its SUBMITTING, OPEN and FILLED updates, its fills and FILL_RECEIVED events. */
export interface OrderEventCounts {
  id: string;
  submitting: number;
  open: number;
  filled: number;
  fills: number;
  fillEvents: number;
}

/** The statement counting {@link OrderEventCounts} from the outbox, for one portfolio or for every order. */
export function orderEventCountsSql(portfolioId?: string) {
  return sql`select o.id,
                 count(*) filter (where e.type = 'ORDER_UPDATED' and e.payload->'order'->>'status' = 'SUBMITTING')::int as submitting,
                 count(*) filter (where e.type = 'ORDER_UPDATED' and e.payload->'order'->>'status' = 'OPEN')::int as open,
                 count(*) filter (where e.type = 'ORDER_UPDATED' and e.payload->'order'->>'status' = 'FILLED')::int as filled,
                 (select count(*)::int from fills f where f.order_id = o.id) as fills,
                 count(*) filter (where e.type = 'FILL_RECEIVED')::int as "fillEvents"
          from orders o join outbox_events e on e.portfolio_id = o.portfolio_id and e.payload->'order'->>'id' = o.id::text
          ${portfolioId ? sql`where o.portfolio_id = ${portfolioId}` : sql``} group by o.id`;
}
