import { pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { price, qty, ts } from './common.js';
import { instruments } from './instruments.js';

/** OHLCV bars. `interval` is '1m' for what the market feed writes; imports may add others. */
export const candles = pgTable(
  'candles',
  {
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id, { onDelete: 'cascade' }),
    interval: text('interval').notNull(),
    startsAt: ts('starts_at').notNull(),
    open: price('open').notNull(),
    high: price('high').notNull(),
    low: price('low').notNull(),
    close: price('close').notNull(),
    volume: qty('volume').notNull(),
  },
  (t) => [primaryKey({ columns: [t.instrumentId, t.interval, t.startsAt] })],
);

/** Last known quote per instrument, so any process can answer `quote` without the feed in memory. */
export const latestQuotes = pgTable('latest_quotes', {
  instrumentId: uuid('instrument_id')
    .primaryKey()
    .references(() => instruments.id, { onDelete: 'cascade' }),
  bid: price('bid'),
  ask: price('ask'),
  bidSize: qty('bid_size'),
  askSize: qty('ask_size'),
  last: price('last').notNull(),
  volume: qty('volume'),
  updatedAt: ts('updated_at').notNull(),
});

