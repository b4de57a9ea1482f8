import { sql } from 'drizzle-orm';
import { index, integer, pgEnum, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, money, price, qty, ts, updatedAt } from './common.js';
import { users } from './users.js';
import { portfolios } from './portfolios.js';
import { instruments } from './instruments.js';

export const orderSideEnum = pgEnum('order_side', ['BUY', 'SELL']);
export const orderTypeEnum = pgEnum('order_type', ['MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT']);
export const timeInForceEnum = pgEnum('time_in_force', ['DAY', 'GTC', 'IOC']);
export const orderStatusEnum = pgEnum('order_status', [
  'PENDING',
  'SUBMITTING',
  'OPEN',
  'PARTIALLY_FILLED',
  'FILLED',
  'CANCEL_REQUESTED',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
  'FAILED',
]);

export const orders = pgTable(
  'orders',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    clientOrderId: text('client_order_id').notNull(),
    side: orderSideEnum('side').notNull(),
    type: orderTypeEnum('type').notNull(),
    timeInForce: timeInForceEnum('time_in_force').notNull(),
    quantity: qty('quantity').notNull(),
    limitPrice: price('limit_price'),
    stopPrice: price('stop_price'),
    /**
     * Market protection: the worst price a MARKET or STOP buy may fill at (its hold was sized from it). The
     * broker caps the order there and cancels what cannot fill under it. Null for limit orders and sells.
     */
    protectionPrice: price('protection_price'),
    status: orderStatusEnum('status').notNull().default('PENDING'),
    filledQuantity: qty('filled_quantity').notNull().default('0'),
    averageFillPrice: price('average_fill_price'),
    feesPaid: money('fees_paid').notNull().default('0'),
    broker: text('broker').notNull(),
    brokerOrderId: text('broker_order_id'),
    rejectReason: text('reject_reason'),
    submitAttempts: integer('submit_attempts').notNull().default(0),
    /** Fingerprint of the placing parameters, to tell an idempotent retry from a conflicting reuse. */
    requestHash: text('request_hash').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    closedAt: ts('closed_at'),
  },
  (t) => [
    uniqueIndex('orders_user_client_order_uq').on(t.userId, t.clientOrderId),
    index('orders_portfolio_created_idx').on(t.portfolioId, t.createdAt),
    index('orders_active_idx')
      .on(t.status, t.updatedAt)
      .where(sql`${t.status} in ('PENDING','SUBMITTING','OPEN','PARTIALLY_FILLED','CANCEL_REQUESTED')`),
    index('orders_broker_order_idx').on(t.broker, t.brokerOrderId),
  ],
);

export const fills = pgTable(
  'fills',
  {
    id: id(),
    orderId: uuid('order_id').notNull().references(() => orders.id, { onDelete: 'cascade' }),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    /** The broker's id for this execution: unique per order so a replayed fill is harmless. */
    brokerFillId: text('broker_fill_id').notNull(),
    quantity: qty('quantity').notNull(),
    price: price('price').notNull(),
    fee: money('fee').notNull().default('0'),
    executedAt: ts('executed_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('fills_order_broker_fill_uq').on(t.orderId, t.brokerFillId), index('fills_portfolio_idx').on(t.portfolioId)],
);
