import { index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, money, price, qty, ts, updatedAt } from './common.js';
import { users } from './users.js';
import { portfolios } from './portfolios.js';
import { instruments } from './instruments.js';
import { brokerConnections } from './brokers.js';
import { orders, orderSideEnum, orderStatusEnum } from './orders.js';

/** A pooled master account: one broker account (paper, or a connection) trading for many member portfolios. */
export const pooledAccounts = pgTable('pooled_accounts', {
  id: id(),
  name: text('name').notNull().unique(),
  broker: text('broker').notNull(),
  brokerConnectionId: uuid('broker_connection_id').references(() => brokerConnections.id, { onDelete: 'restrict' }),
  /** Aggregation window: member orders wait until the window closes. */
  windowMs: integer('window_ms').notNull(),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
});

/** A member portfolio: its orders are aggregated by the pooled account, never sent on their own. */
export const pooledMembers = pgTable(
  'pooled_members',
  {
    portfolioId: uuid('portfolio_id')
      .primaryKey()
      .references(() => portfolios.id, { onDelete: 'cascade' }),
    pooledAccountId: uuid('pooled_account_id')
      .notNull()
      .references(() => pooledAccounts.id, { onDelete: 'cascade' }),
  },
  (t) => [index('pooled_members_account_idx').on(t.pooledAccountId)],
);

/**
 * One parent order: the net of a window's children of one instrument, sent to the broker as one order
 * (quantity 0 when the window nets to zero: then nothing is sent and everything crosses internally).
 * Unique per (account, window, instrument): a window closes once.
 */
export const pooledParentOrders = pgTable(
  'pooled_parent_orders',
  {
    id: id(),
    pooledAccountId: uuid('pooled_account_id')
      .notNull()
      .references(() => pooledAccounts.id, { onDelete: 'cascade' }),
    windowKey: text('window_key').notNull(),
    instrumentId: uuid('instrument_id')
      .notNull()
      .references(() => instruments.id),
    side: orderSideEnum('side').notNull(),
    quantity: qty('quantity').notNull(),
    filledQuantity: qty('filled_quantity').notNull().default('0'),
    averageFillPrice: price('average_fill_price'),
    crossedQuantity: qty('crossed_quantity').notNull().default('0'),
    /** The price the crossed part filled at (the parent's average, or the quote mid when the net is zero). */
    crossedPrice: price('crossed_price'),
    protectionPrice: price('protection_price'),
    status: orderStatusEnum('status').notNull().default('PENDING'),
    brokerOrderId: text('broker_order_id'),
    rejectReason: text('reject_reason'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('pooled_parent_window_uq').on(t.pooledAccountId, t.windowKey, t.instrumentId), index('pooled_parent_account_idx').on(t.pooledAccountId, t.createdAt)],
);

/** A child order claimed by a parent at its window's close. */
export const pooledChildren = pgTable(
  'pooled_children',
  {
    orderId: uuid('order_id')
      .primaryKey()
      .references(() => orders.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id')
      .notNull()
      .references(() => pooledParentOrders.id, { onDelete: 'cascade' }),
  },
  (t) => [index('pooled_children_parent_idx').on(t.parentId)],
);

/** An execution of a parent at the broker, recorded once (unique per parent and broker fill id). */
export const pooledParentFills = pgTable(
  'pooled_parent_fills',
  {
    id: id(),
    parentId: uuid('parent_id')
      .notNull()
      .references(() => pooledParentOrders.id, { onDelete: 'cascade' }),
    brokerFillId: text('broker_fill_id').notNull(),
    quantity: qty('quantity').notNull(),
    price: price('price').notNull(),
    fee: money('fee').notNull().default('0'),
    executedAt: ts('executed_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('pooled_parent_fills_uq').on(t.parentId, t.brokerFillId)],
);

/**
 * A member's cancel after its window closed, as a reduction of its parent at the broker by the child's
 * unfilled share (pooled/child-cancel.service.ts). REQUESTED from before the broker is asked until the
 * outcome is recorded; while a parent has one REQUESTED, its fills wait unallocated (the next drive
 * allocates them), so no fill is split on a quantity that is changing. DONE is written in the same
 * transaction as the parent's new quantity and the child's CANCELED; a refusal deletes the row. A row
 * left REQUESTED by a dead process is resolved from the broker's view of the parent (its quantity is
 * `toQuantity` or not), so the reduce is recorded once (a CANCEL: from whether the parent has ended).
 */
export const pooledParentReductions = pgTable(
  'pooled_parent_reductions',
  {
    childOrderId: uuid('child_order_id')
      .primaryKey()
      .references(() => orders.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id')
      .notNull()
      .references(() => pooledParentOrders.id, { onDelete: 'cascade' }),
    /** The child's unfilled share: what the parent loses. */
    quantity: qty('quantity').notNull(),
    fromQuantity: qty('from_quantity').notNull(),
    toQuantity: qty('to_quantity').notNull(),
    /**
     * REDUCE: the parent keeps `toQuantity` at the broker. CANCEL: the child is the last one on its side
     * with anything unfilled, so the parent is canceled at the broker (`toQuantity` is what had filled
     * at the intent; the parent ends at whatever the broker filled before the cancel took effect). DONE
     * for a CANCEL means the broker has ended the parent; the parent's drive then allocates its last
     * fills and the crossed part and ends the child.
     */
    kind: text('kind').notNull().default('REDUCE'),
    status: text('status').notNull().default('REQUESTED'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('pooled_parent_reductions_parent_idx').on(t.parentId, t.status)],
);
