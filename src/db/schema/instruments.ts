import { boolean, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { createdAt, id, price, qty } from './common.js';

export const instruments = pgTable(
  'instruments',
  {
    id: id(),
    symbol: text('symbol').notNull(),
    exchange: text('exchange').notNull(),
    name: text('name'),
    currency: text('currency').notNull(),
    assetClass: text('asset_class').notNull().default('EQUITY'),
    lotSize: qty('lot_size').notNull().default('1'),
    tickSize: price('tick_size').notNull(),
    /** The price the simulated market starts from. */
    referencePrice: price('reference_price').notNull(),
    /** Annualised volatility used by the simulated market, as a fraction (0.25 = 25%). */
    volatility: price('volatility').notNull().default('0.25'),
    tradable: boolean('tradable').notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('instruments_symbol_exchange_uq').on(t.symbol, t.exchange), index('instruments_symbol_idx').on(t.symbol)],
);
