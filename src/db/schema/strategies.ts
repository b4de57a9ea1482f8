import { boolean, index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './common.js';
import { users } from './users.js';
import { portfolios } from './portfolios.js';

export const strategies = pgTable(
  'strategies',
  {
    id: id(),
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    portfolioId: uuid('portfolio_id').references(() => portfolios.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    /** Which built-in or rule strategy (MACD_CROSSOVER, VWAP_REVERSION, RULES, SCREENER...). */
    kind: text('kind').notNull(),
    params: jsonb('params').notNull().default({}),
    /** Cron expression for scheduled runs, if any. */
    schedule: text('schedule'),
    enabled: boolean('enabled').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('strategies_owner_idx').on(t.ownerId)],
);
