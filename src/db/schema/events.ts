import { bigint, bigserial, jsonb, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './common.js';

/**
 * Transactional outbox. Rows are written in the same transaction as the change they describe and
 * published by the relay after commit. `sequence` is per portfolio and gap-free, so a client can resume.
 * Rows are only inserted and pruned: what is still to publish is in {@link outboxPending}, per statement.
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
  },
  (t) => [
    uniqueIndex('outbox_portfolio_sequence_uq').on(t.portfolioId, t.sequence),
  ],
);

/**
 * The outbox's unpublished work, one row per statement that wrote outbox rows (not per event; one per
 * 500 events of a larger one): the ids it wrote, inserted by that same statement. The process that committed it publishes the events and
 * deletes the row (batched); the relay's poller publishes the events of rows older than its grace
 * period (their committer died) and deletes them. An event is published at least once while its row
 * exists, so `outbox_events` itself is only ever inserted and pruned, never updated.
 */
export const outboxPending = pgTable('outbox_pending', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  eventIds: bigint('event_ids', { mode: 'number' }).array().notNull(),
  createdAt: createdAt(),
});
