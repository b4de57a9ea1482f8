import { and, asc, desc, eq, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { fills, orders } from '../../db/schema/index.js';
import { builtOnce } from '../../db/built-once.js';
import { jsonValue } from '../portfolio.read.js';
import type { OrderStatus } from './order.state.js';
import type { FillRow, OrderRow } from './order.snapshot.js';

export interface OrderPageQuery {
  first: number;
  after?: { createdAt: Date; id: string } | null;
  status?: OrderStatus[] | null;
}

export interface OrderPage {
  rows: OrderRow[];
  hasNextPage: boolean;
  /** With `withFills`: every order's fills, oldest first, by order id. */
  fills?: Map<string, FillRow[]>;
}

/**
 * A portfolio's orders, newest first, keyset-paginated by (createdAt, id). With `withFills` each order's
 * fills come in the same statement (a correlated `json_agg`, numerics as text), so an order page with its
 * fills is one round trip instead of two.
 */
export async function readOrderPage(db: DbOrTx, portfolioId: string, q: OrderPageQuery & { withFills?: boolean }): Promise<OrderPage> {
  // The first page with no filter (a dashboard's "last N orders") is built once and kept, with the
  // portfolio and the limit as placeholders; other pages are built per call.
  const firstPage = !q.status?.length && !q.after;
  const shape = () => {
    const conds: SQL[] = [eq(orders.portfolioId, firstPage ? sql.placeholder('portfolioId') : portfolioId)];
    if (q.status?.length) conds.push(inArray(orders.status, q.status));
    if (q.after) conds.push(or(lt(orders.createdAt, q.after.createdAt), and(eq(orders.createdAt, q.after.createdAt), lt(orders.id, q.after.id)))!);
    // drizzle types limit() as a number; a placeholder is what its prepared queries take there.
    return { where: and(...conds), order: [desc(orders.createdAt), desc(orders.id)], limit: (firstPage ? sql.placeholder('limit') : q.first + 1) as number };
  };
  const params = { portfolioId, limit: q.first + 1 };
  if (!q.withFills) {
    const build = () => {
      const { where, order, limit } = shape();
      return db.select().from(orders).where(where).orderBy(...order).limit(limit);
    };
    const rows = firstPage ? await builtOnce(db, 'order-page', () => build().prepare('order_page')).execute(params) : await build();
    return { rows: rows.slice(0, q.first), hasNextPage: rows.length > q.first };
  }
  const build = () => {
    const { where, order, limit } = shape();
    const fillsJson = sql<unknown>`(select coalesce(json_agg(json_build_object('id', ${fills.id}, 'brokerFillId', ${fills.brokerFillId}, 'quantity', ${fills.quantity}::text, 'price', ${fills.price}::text, 'fee', ${fills.fee}::text, 'executedAt', ${fills.executedAt}, 'createdAt', ${fills.createdAt}) order by ${asc(fills.executedAt)}, ${asc(fills.id)}), '[]'::json) from ${fills} where ${eq(fills.orderId, orders.id)})`;
    return db.select({ order: orders, fills: fillsJson }).from(orders).where(where).orderBy(...order).limit(limit);
  };
  const rows = firstPage ? await builtOnce(db, 'order-page-fills', () => build().prepare('order_page_fills')).execute(params) : await build();
  const page = rows.slice(0, q.first);
  const byOrder = new Map<string, FillRow[]>();
  for (const r of page) {
    const list = jsonValue(r.fills) as { id: string; brokerFillId: string; quantity: string; price: string; fee: string; executedAt: string; createdAt: string }[];
    byOrder.set(
      r.order.id,
      list.map((f) => ({ id: f.id, orderId: r.order.id, portfolioId: r.order.portfolioId, brokerFillId: f.brokerFillId, quantity: f.quantity, price: f.price, fee: f.fee, executedAt: new Date(f.executedAt), createdAt: new Date(f.createdAt) })),
    );
  }
  return { rows: page.map((r) => r.order), hasNextPage: rows.length > q.first, fills: byOrder };
}
