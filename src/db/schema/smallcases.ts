import { boolean, index, numeric, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, money, ts } from './common.js';
import { users } from './users.js';
import { instruments } from './instruments.js';
import { portfolios } from './portfolios.js';


export const smallcases = pgTable(
  'smallcases',
  {
    id: id(),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    isPublic: boolean('is_public').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index('smallcases_owner_idx').on(t.ownerId)],
);

export const smallcaseConstituents = pgTable(
  'smallcase_constituents',
  {
    smallcaseId: uuid('smallcase_id').notNull().references(() => smallcases.id, { onDelete: 'cascade' }),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    /** Target weight as a fraction; a smallcase's weights sum to 1. */
    weight: numeric('weight', { precision: 12, scale: 8 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.smallcaseId, t.instrumentId] })],
);

export const smallcaseInvestments = pgTable(
  'smallcase_investments',
  {
    id: id(),
    smallcaseId: uuid('smallcase_id').notNull().references(() => smallcases.id),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    investedAmount: money('invested_amount').notNull(),
    lastRebalancedAt: ts('last_rebalanced_at'),
    createdAt: createdAt(),
  },
  (t) => [index('smallcase_investments_portfolio_idx').on(t.portfolioId)],
);
