import { sql } from 'drizzle-orm';
import { bigserial, index, pgEnum, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, money, ts, updatedAt } from './common.js';
import { portfolios } from './portfolios.js';
import { instruments } from './instruments.js';
import { fills, orders } from './orders.js';

export const ledgerKindEnum = pgEnum('ledger_kind', ['DEPOSIT', 'WITHDRAWAL', 'TRADE', 'FEE', 'ADJUSTMENT']);

/** The cash ledger: cash is the sum of a portfolio's entries. Entries are never updated or deleted. */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    kind: ledgerKindEnum('kind').notNull(),
    /** Signed: positive credits cash, negative debits it. */
    amount: money('amount').notNull(),
    currency: text('currency').notNull(),
    orderId: uuid('order_id').references(() => orders.id),
    fillId: uuid('fill_id').references(() => fills.id),
    description: text('description'),
    createdAt: createdAt(),
  },
  (t) => [index('ledger_portfolio_idx').on(t.portfolioId, t.id), index('ledger_fill_idx').on(t.fillId)],
);

export const holdKindEnum = pgEnum('hold_kind', ['CASH', 'QUANTITY']);

/** Reserves cash for an open buy or quantity for an open sell; one per order, released as it fills or ends. */
export const holds = pgTable(
  'holds',
  {
    id: id(),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    kind: holdKindEnum('kind').notNull(),
    instrumentId: uuid('instrument_id').references(() => instruments.id),
    /** What is still reserved (cash or quantity). */
    amount: money('amount').notNull(),
    releasedAt: ts('released_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('holds_order_uq').on(t.orderId),
    index('holds_open_idx').on(t.portfolioId).where(sql`${t.releasedAt} is null`),
  ],
);

