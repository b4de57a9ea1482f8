import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, ts } from './common.js';

/**
 * Transactional outbox. Rows are written in the same transaction as the change they describe and
 * published by the relay after commit. `sequence` is per portfolio and gap-free, so a client can resume.
 */
export const outboxEvents = pgTable(
  'outbox_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    // No foreign key to portfolios: every row is written in a transaction that holds its portfolio's row
    // lock (the sequence comes from that row), so the reference cannot dangle, and no portfolio is ever
    // deleted. The check was a `select … for key share` on the portfolio per event (≈ 8 per order).
    portfolioId: uuid('portfolio_id').notNull(),
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
