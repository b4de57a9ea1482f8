import { date, index, integer, pgTable, primaryKey, text, uniqueIndex, uuid, bigserial } from 'drizzle-orm/pg-core';
import { createdAt, money, price, qty, ts } from './common.js';
import { portfolios } from './portfolios.js';
import { instruments } from './instruments.js';

/**
 * One valuation per portfolio and calendar day (UTC), at the close: cash, positions at their closes, and
 * the day's net external flow (deposits − withdrawals). Written by the valuation job after each close
 * and by backfills; idempotent per (portfolio, day).
 */
export const portfolioValuations = pgTable(
  'portfolio_valuations',
  {
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    day: date('day', { mode: 'string' }).notNull(),
    cash: money('cash').notNull(),
    positionsValue: money('positions_value').notNull(),
    value: money('value').notNull(),
    netFlow: money('net_flow').notNull().default('0'),
    /** Positions priced with a carried (older) close because the day had none. */
    carriedPrices: integer('carried_prices').notNull().default(0),
    /** Positions with no known price at all (valued at their last trade price, or 0 when none). */
    missingPrices: integer('missing_prices').notNull().default(0),
    computedAt: ts('computed_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.portfolioId, t.day] })],
);

/** Activities imported from elsewhere (importActivities); the fingerprint makes a re-import a no-op. */
export const importedActivities = pgTable(
  'imported_activities',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    occurredAt: ts('occurred_at').notNull(),
    type: text('type').notNull(),
    instrumentId: uuid('instrument_id').references(() => instruments.id),
    quantity: qty('quantity'),
    price: price('price'),
    amount: money('amount'),
    fee: money('fee'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('imported_activities_fp_uq').on(t.portfolioId, t.fingerprint),
    index('imported_activities_portfolio_idx').on(t.portfolioId, t.occurredAt),
  ],
);
