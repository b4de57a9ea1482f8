/**
 * After a phase: every order the clients placed is FILLED exactly once, end to end, checked in SQL on the
 * phase's database. "Lost" = an order that never reached FILLED (or a placement whose outcome is unknown
 * and left no order). "Duplicated" = more than one broker order, broker fill, fill, trade ledger line or
 * fillReceived event for one order. Money comparisons are done by Postgres on numerics, never in JS.
 */
import { unixSocket } from '../../src/db/client.js';
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { sleep } from './stats.js';

export type Sql = postgres.Sql;

export function openSql(url: string): Sql {
  const { url: u, path } = unixSocket(url);
  return postgres(u, { max: 2, onnotice: () => {}, ...(path ? { path } : {}) });
}

/** Wait until every order whose client order id starts with `prefix` is FILLED (or the timeout). */
export async function waitAllFilled(sql: Sql, prefix: string, expected: number, timeoutMs: number): Promise<{ filled: number; total: number; lastFillAt: number | null }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const [r] = await sql<{ filled: number; total: number; last_fill_ms: number | null }[]>`
      select count(*) filter (where o.status = 'FILLED')::int as filled, count(*)::int as total,
             (select extract(epoch from max(f.created_at)) * 1000 from fills f join orders o2 on o2.id = f.order_id
               where o2.client_order_id like ${prefix + '%'})::float8 as last_fill_ms
      from orders o where o.client_order_id like ${prefix + '%'}`;
    if ((r.filled >= expected && r.filled === r.total) || performance.now() > deadline) {
      return { filled: r.filled, total: r.total, lastFillAt: r.last_fill_ms };
    }
    await sleep(200);
  }
}

export interface Verification {
  /** Orders acknowledged to the client. */
  accepted: number;
  /** Orders in the database for this phase (may exceed `accepted` if a response was lost). */
  inDb: number;
  filled: number;
  /** Accepted but not in the database, or in the database but not FILLED. */
  lost: number;
  notFilledByStatus: Record<string, number>;
  duplicateBrokerOrders: number;
  missingBrokerOrders: number;
  duplicateFills: number;
  duplicateBrokerFills: number;
  duplicateTradeLines: number;
  wrongFilledQuantity: number;
  openHoldsOnFilled: number;
  cashNotLedger: number;
  /** Subscription checks (GraphQL phases only): orders with no / more than one fillReceived event. */
  eventsMissing?: number;
  eventsDuplicated?: number;
  ok: boolean;
  problems: string[];
}

export async function verifyPhase(
  sql: Sql,
  prefix: string,
  acceptedIds: ReadonlySet<string>,
  fillEvents?: ReadonlyMap<string, number>,
): Promise<Verification> {
  const like = prefix + '%';
  const rows = await sql<{ client_order_id: string; status: string; qty_ok: boolean; paper_orders: number; paper_fills: number; fills: number; trade_lines: number; open_holds: number }[]>`
    select o.client_order_id, o.status::text as status, (o.filled_quantity = o.quantity) as qty_ok,
      (select count(*) from paper_orders po where po.account = o.portfolio_id::text and po.client_order_id = o.id::text)::int as paper_orders,
      (select count(*) from paper_fills pf where pf.account = o.portfolio_id::text and pf.client_order_id = o.id::text)::int as paper_fills,
      (select count(*) from fills f where f.order_id = o.id)::int as fills,
      (select count(*) from ledger_entries l where l.order_id = o.id and l.kind = 'TRADE')::int as trade_lines,
      (select count(*) from holds h where h.order_id = o.id and h.released_at is null)::int as open_holds
    from orders o where o.client_order_id like ${like}`;
  const byId = new Map(rows.map((r) => [r.client_order_id, r]));
  const v: Verification = {
    accepted: acceptedIds.size,
    inDb: rows.length,
    filled: rows.filter((r) => r.status === 'FILLED').length,
    lost: 0,
    notFilledByStatus: {},
    duplicateBrokerOrders: rows.filter((r) => r.paper_orders > 1).length,
    missingBrokerOrders: rows.filter((r) => r.paper_orders === 0).length,
    duplicateFills: rows.filter((r) => r.fills > 1).length,
    duplicateBrokerFills: rows.filter((r) => r.paper_fills > 1).length,
    duplicateTradeLines: rows.filter((r) => r.trade_lines > 1).length,
    wrongFilledQuantity: rows.filter((r) => r.status === 'FILLED' && !r.qty_ok).length,
    openHoldsOnFilled: rows.filter((r) => r.status === 'FILLED' && r.open_holds > 0).length,
    cashNotLedger: 0,
    ok: true,
    problems: [],
  };
  for (const id of acceptedIds) if (!byId.has(id)) v.lost++;
  for (const r of rows) {
    if (r.status !== 'FILLED') {
      v.lost++;
      v.notFilledByStatus[r.status] = (v.notFilledByStatus[r.status] ?? 0) + 1;
    }
  }
  const [cash] = await sql<{ bad: number }[]>`
    select count(*)::int as bad from portfolios p
    where p.cash <> coalesce((select sum(amount) from ledger_entries l where l.portfolio_id = p.id), 0)`;
  v.cashNotLedger = cash.bad;
  if (fillEvents) {
    v.eventsMissing = 0;
    v.eventsDuplicated = 0;
    for (const r of rows) {
      if (r.status !== 'FILLED') continue;
      const n = fillEvents.get(r.client_order_id) ?? 0;
      if (n === 0) v.eventsMissing++;
      if (n > 1) v.eventsDuplicated++;
    }
  }
  const checks: [number, string][] = [
    [v.lost, 'orders lost (accepted but not FILLED)'],
    [v.duplicateBrokerOrders, 'orders sent to the broker more than once'],
    [v.missingBrokerOrders, 'orders the broker never received'],
    [v.duplicateFills, 'orders with more than one fill row'],
    [v.duplicateBrokerFills, 'orders with more than one broker fill'],
    [v.duplicateTradeLines, 'orders with more than one TRADE ledger line'],
    [v.wrongFilledQuantity, 'FILLED orders whose filled quantity differs from the quantity'],
    [v.openHoldsOnFilled, 'FILLED orders with an open hold'],
    [v.cashNotLedger, 'portfolios whose cash differs from the sum of their ledger'],
    [v.eventsMissing ?? 0, 'filled orders whose fillReceived event never reached the subscriber'],
    [v.eventsDuplicated ?? 0, 'orders with more than one fillReceived event'],
  ];
  for (const [n, what] of checks) if (n > 0) v.problems.push(`${n} ${what}`);
  v.ok = v.problems.length === 0;
  return v;
}

export interface StageTimes {
  /** client start → orders.created_at (HTTP, auth, rate limit, validation, reads before the transaction) */
  toOrderRow: number[];
  /** orders.created_at → paper_orders.created_at (place transaction, enqueue, job pick-up, submit's first steps) */
  toBroker: number[];
  /** paper_orders.created_at → fills.created_at (broker transaction, fill event, apply-fill enqueue and pick-up) */
  toFill: number[];
  /** fills.created_at → client receipt (apply-fill transaction, Redis publish, api stream, graphql-ws) */
  toClient: number[];
}

/** Per-order server timestamps (ms since epoch) for the stage breakdown of the latency phase. */
export async function serverTimes(sql: Sql, prefix: string): Promise<Map<string, { id: string; order: number; broker: number; fill: number }>> {
  const rows = await sql<{ id: string; client_order_id: string; order_ms: number; broker_ms: number | null; fill_ms: number | null }[]>`
    select o.id::text, o.client_order_id,
      (extract(epoch from o.created_at) * 1000)::float8 as order_ms,
      (select extract(epoch from min(po.created_at)) * 1000 from paper_orders po where po.account = o.portfolio_id::text and po.client_order_id = o.id::text)::float8 as broker_ms,
      (select extract(epoch from min(f.created_at)) * 1000 from fills f where f.order_id = o.id)::float8 as fill_ms
    from orders o where o.client_order_id like ${prefix + '%'}`;
  const out = new Map<string, { id: string; order: number; broker: number; fill: number }>();
  for (const r of rows) if (r.broker_ms !== null && r.fill_ms !== null) out.set(r.client_order_id, { id: r.id, order: r.order_ms, broker: r.broker_ms, fill: r.fill_ms });
  return out;
}

/**
 * When each order's submit job was added (BullMQ's `timestamp`, stamped by the api as it adds the job
 * after the placement's commit) and picked up by a worker (`processedOn`), by order id: read from the
 * finished jobs BullMQ keeps (src/jobs/bullmq.queue.ts REMOVE_ON_COMPLETE) under the run's Redis prefix.
 * A `submit-orders` job (a placement batch) counts for each of its orders.
 */
export async function submitJobTimes(redisUrl: string, prefix: string): Promise<Map<string, { added: number; picked: number }>> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const out = new Map<string, { added: number; picked: number }>();
  try {
    const stream = redis.scanStream({ match: `${prefix}:orders:*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length === 0) continue;
      const pipe = redis.pipeline();
      for (const k of keys) pipe.hmget(k, 'name', 'data', 'timestamp', 'processedOn');
      for (const [err, v] of (await pipe.exec()) ?? []) {
        if (err) continue; // not a job's hash (the queue's lists, streams and sets share the prefix)
        const [name, data, timestamp, processedOn] = v as (string | null)[];
        if ((name !== 'submit-order' && name !== 'submit-orders') || !data || !timestamp || !processedOn) continue;
        const d = JSON.parse(data) as { orderId?: string; orderIds?: string[] };
        for (const id of d.orderIds ?? (d.orderId ? [d.orderId] : [])) out.set(id, { added: Number(timestamp), picked: Number(processedOn) });
      }
    }
  } finally {
    redis.disconnect();
  }
  return out;
}

/** Pids of the Postgres backends serving `database` (to tell this run's Postgres CPU from others'). */
export async function backendPids(sql: Sql, database: string): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`;
  return rows.map((r) => r.pid);
}
