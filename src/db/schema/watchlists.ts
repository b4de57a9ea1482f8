import { index, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './common.js';
import { users } from './users.js';
import { instruments } from './instruments.js';

export const watchlists = pgTable(
  'watchlists',
  {
    id: id(),
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('watchlists_owner_idx').on(t.ownerId), uniqueIndex('watchlists_owner_name_uq').on(t.ownerId, t.name)],
);

export const watchlistItems = pgTable(
  'watchlist_items',
  {
    watchlistId: uuid('watchlist_id').notNull().references(() => watchlists.id, { onDelete: 'cascade' }),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    note: text('note'),
    addedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.watchlistId, t.instrumentId] })],
);
