import { orders, fills } from '../../db/schema/index.js';

export type OrderRow = typeof orders.$inferSelect;
export type FillRow = typeof fills.$inferSelect;

/** JSON-safe copy of an order as stored in events (decimals as strings, dates as ISO). */
export type OrderSnapshot = Omit<OrderRow, 'createdAt' | 'updatedAt' | 'closedAt'> & { createdAt: string; updatedAt: string; closedAt: string | null };
export type FillSnapshot = Omit<FillRow, 'executedAt' | 'createdAt'> & { executedAt: string; createdAt: string };

export function orderSnapshot(o: OrderRow): OrderSnapshot {
  return { ...o, createdAt: o.createdAt.toISOString(), updatedAt: o.updatedAt.toISOString(), closedAt: o.closedAt?.toISOString() ?? null };
}

export function fillSnapshot(f: FillRow): FillSnapshot {
  return { ...f, executedAt: f.executedAt.toISOString(), createdAt: f.createdAt.toISOString() };
}

export function orderFromSnapshot(s: OrderSnapshot): OrderRow {
  return { ...s, createdAt: new Date(s.createdAt), updatedAt: new Date(s.updatedAt), closedAt: s.closedAt ? new Date(s.closedAt) : null };
}

export function fillFromSnapshot(s: FillSnapshot): FillRow {
  return { ...s, executedAt: new Date(s.executedAt), createdAt: new Date(s.createdAt) };
}
