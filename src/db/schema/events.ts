import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, ts } from './common.js';
import { portfolios } from './portfolios.js';

/**
 * Transactional outbox. Rows are written in the same transaction as the change they describe and
 * published by the relay after commit. `sequence` is per portfolio and gap-free, so a client can resume.
 */
export const outboxEvents = pgTable(
  'outbox_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    createdAt: createdAt(),
    publishedAt: ts('published_at'),
  },
  (t) => [
    uniqueIndex('outbox_portfolio_sequence_uq').on(t.portfolioId, t.sequence),
    index('outbox_unpublished_idx').on(t.id).where(sql`${t.publishedAt} is null`),
  ],
);
