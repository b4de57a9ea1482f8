import { bigint, index, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { averageCost, createdAt, id, money, price, qty, updatedAt } from './common.js';
import { users } from './users.js';
import { instruments } from './instruments.js';
import { brokerConnections } from './brokers.js';

export const portfolios = pgTable(
  'portfolios',
  {
    id: id(),
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    broker: text('broker').notNull().default('paper'),
    brokerConnectionId: uuid('broker_connection_id').references(() => brokerConnections.id, { onDelete: 'set null' }),
    baseCurrency: text('base_currency').notNull(),
    /** Settled cash: kept equal to the sum of the ledger entries in the same transaction (checked by tests). */
    cash: money('cash').notNull().default('0'),
    /** Last event sequence number handed out for this portfolio; bumping it also serialises money moves. */
    eventSequence: bigint('event_sequence', { mode: 'number' }).notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index('portfolios_owner_idx').on(t.ownerId), uniqueIndex('portfolios_owner_name_uq').on(t.ownerId, t.name)],
);

export const positions = pgTable(
  'positions',
  {
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    quantity: qty('quantity').notNull().default('0'),
    averageCost: averageCost('average_cost').notNull().default('0'),
    realizedPnl: money('realized_pnl').notNull().default('0'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.portfolioId, t.instrumentId] })],
);
