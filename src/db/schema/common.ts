import { numeric, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Money: up to 12 integer digits before the point and 8 after. Read and written as strings. */
export const money = (name: string) => numeric(name, { precision: 24, scale: 8 });
/** Quantities (shares, lots, fractional US shares). */
export const qty = (name: string) => numeric(name, { precision: 24, scale: 8 });
/** Prices. */
export const price = (name: string) => numeric(name, { precision: 24, scale: 8 });

export const id = () => uuid('id').primaryKey().defaultRandom();
export const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
