import { numeric, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Money: up to 12 integer digits before the point and 8 after. Read and written as strings. */
export const money = (name: string) => numeric(name, { precision: 24, scale: 8 });
/** Quantities (shares, lots, fractional US shares). */
export const qty = (name: string) => numeric(name, { precision: 24, scale: 8 });
/** Prices. */
export const price = (name: string) => numeric(name, { precision: 24, scale: 8 });
/**
 * An average cost: 16 places, so the P&L figured from it stays exact to the 8 places money is kept in
 * (three buys at 1544.30, 1544.30 and 1543.90 average 1544.1666…; at 8 places a sale of 6 would
 * realise −4.00000002 instead of −4). Shown rounded to 8 places.
 */
export const AVERAGE_COST_PLACES = 16;
export const averageCost = (name: string) => numeric(name, { precision: 40, scale: AVERAGE_COST_PLACES });

export const id = () => uuid('id').primaryKey().defaultRandom();
export const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
