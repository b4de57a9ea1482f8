import { boolean, index, integer, jsonb, numeric, pgEnum, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, money, price, qty, ts, updatedAt } from './common.js';
import { users } from './users.js';
import { instruments } from './instruments.js';
import { portfolios } from './portfolios.js';
import { orders } from './orders.js';

export const visibilityEnum = pgEnum('visibility', ['PRIVATE', 'PUBLIC']);
export const investmentStatusEnum = pgEnum('investment_status', ['PLACING', 'ACTIVE', 'NEEDS_REPAIR', 'OUT_OF_SYNC', 'EXITED']);
export const basketRunKindEnum = pgEnum('basket_run_kind', ['INVEST', 'INVEST_MORE', 'REBALANCE', 'EXIT', 'REPAIR', 'TARGET']);
export const basketRunStatusEnum = pgEnum('basket_run_status', ['PLACING', 'SELLING', 'BUYING', 'COMPLETED', 'PARTIAL', 'FAILED', 'CANCELED']);

/** A versioned weighted basket. `version` is the current one; constituents are kept per version. */
export const smallcases = pgTable(
  'smallcases',
  {
    id: id(),
    ownerId: uuid('owner_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    visibility: visibilityEnum('visibility').notNull().default('PRIVATE'),
    currency: text('currency').notNull(),
    version: integer('version').notNull().default(1),
    archived: boolean('archived').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('smallcases_owner_idx').on(t.ownerId), index('smallcases_visibility_idx').on(t.visibility)],
);

/** One version of a smallcase: why it changed and the index value it started from (chained). */
export const smallcaseVersions = pgTable(
  'smallcase_versions',
  {
    smallcaseId: uuid('smallcase_id').notNull().references(() => smallcases.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    rationale: text('rationale'),
    /** The index value when this version took effect (100 for version 1). */
    indexBase: price('index_base').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.smallcaseId, t.version] })],
);

export const smallcaseConstituents = pgTable(
  'smallcase_version_constituents',
  {
    smallcaseId: uuid('smallcase_id').notNull().references(() => smallcases.id, { onDelete: 'cascade' }),
    version: integer('version').notNull().default(1),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    /** Target weight as a fraction; a version's weights sum to exactly 1. */
    weight: numeric('weight', { precision: 12, scale: 8 }).notNull(),
    /** The price when the version took effect: the index follows price / basePrice. */
    basePrice: price('base_price').notNull().default('0'),
  },
  (t) => [primaryKey({ columns: [t.smallcaseId, t.version, t.instrumentId] })],
);

/** One portfolio's holding of one smallcase version, with its own quantities (investment_holdings). */
export const smallcaseInvestments = pgTable(
  'smallcase_investments',
  {
    id: id(),
    smallcaseId: uuid('smallcase_id').notNull().references(() => smallcases.id),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    version: integer('version').notNull().default(1),
    status: investmentStatusEnum('status').notNull().default('PLACING'),
    /** Net cash put in: buys' cost (with fees) minus sells' proceeds, from the fills. */
    investedAmount: money('invested_amount').notNull(),
    lastRebalancedAt: ts('last_rebalanced_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('smallcase_investments_portfolio_idx').on(t.portfolioId)],
);

/** What an investment holds, attributed from its own runs' fills; `targetQuantity` is what its last run meant to hold. */
export const investmentHoldings = pgTable(
  'investment_holdings',
  {
    investmentId: uuid('investment_id').notNull().references(() => smallcaseInvestments.id, { onDelete: 'cascade' }),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    quantity: qty('quantity').notNull().default('0'),
    averageCost: price('average_cost').notNull().default('0'),
    targetQuantity: qty('target_quantity').notNull().default('0'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.investmentId, t.instrumentId] })],
);

/**
 * A group of orders placed together (sells, then buys sized on what the sells raised). `plan` holds the
 * lines still to place and the budget; `summary` the execution line per instrument once it ends.
 */
export const basketRuns = pgTable(
  'basket_runs',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    investmentId: uuid('investment_id').references(() => smallcaseInvestments.id, { onDelete: 'cascade' }),
    kind: basketRunKindEnum('kind').notNull(),
    status: basketRunStatusEnum('status').notNull().default('PLACING'),
    clientRequestId: text('client_request_id').notNull(),
    requestHash: text('request_hash').notNull(),
    plan: jsonb('plan').notNull(),
    summary: jsonb('summary'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: ts('completed_at'),
  },
  (t) => [
    uniqueIndex('basket_runs_user_request_uq').on(t.userId, t.clientRequestId),
    index('basket_runs_investment_idx').on(t.investmentId),
    index('basket_runs_active_idx').on(t.status, t.updatedAt),
  ],
);

/** Which orders belong to which run, and in which phase (SELL first, then BUY). */
export const basketRunOrders = pgTable(
  'basket_run_orders',
  {
    runId: uuid('run_id').notNull().references(() => basketRuns.id, { onDelete: 'cascade' }),
    orderId: uuid('order_id').notNull().references(() => orders.id, { onDelete: 'cascade' }),
    phase: text('phase').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.orderId] }), uniqueIndex('basket_run_orders_order_uq').on(t.orderId)],
);
