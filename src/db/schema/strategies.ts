import { boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, date, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, price, qty, ts, updatedAt } from './common.js';
import { users } from './users.js';
import { portfolios } from './portfolios.js';
import { instruments } from './instruments.js';
import { orders } from './orders.js';

export const strategies = pgTable(
  'strategies',
  {
    id: id(),
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    portfolioId: uuid('portfolio_id').references(() => portfolios.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    /** StrategyKind: MACD_VWAP, SMA_CROSS, RSI_REVERSION, STD_MOMENTUM, RULES. */
    kind: text('kind').notNull(),
    params: jsonb('params').notNull().default({}),
    /** Cron expression for scheduled runs, if any. */
    schedule: text('schedule'),
    enabled: boolean('enabled').notNull().default(false),
    /** RULES: { entry, exit, side }. */
    rules: jsonb('rules'),
    interval: text('interval').notNull().default('1d'),
    /** UniverseInput as given: { watchlistId?, smallcaseId?, screenerId?, symbols? }. */
    universe: jsonb('universe').notNull().default({}),
    /** SizingInput as given (decimal strings). */
    sizing: jsonb('sizing').notNull().default({}),
    mode: text('mode').notNull().default('SIGNAL_ONLY'),
    status: text('status').notNull().default('ACTIVE'),
    timezone: text('timezone'),
    nextRunAt: ts('next_run_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('strategies_owner_idx').on(t.ownerId)],
);

/** One evaluation of a strategy over its universe. `tickKey` makes a scheduled tick run once. */
export const strategyRuns = pgTable(
  'strategy_runs',
  {
    id: id(),
    strategyId: uuid('strategy_id').notNull().references(() => strategies.id, { onDelete: 'cascade' }),
    status: text('status').notNull(),
    trigger: text('trigger').notNull(),
    tickKey: text('tick_key'),
    startedAt: ts('started_at').notNull(),
    finishedAt: ts('finished_at'),
    evaluated: integer('evaluated').notNull().default(0),
    orders: integer('orders').notNull().default(0),
    durationMs: integer('duration_ms'),
    error: text('error'),
  },
  (t) => [index('strategy_runs_strategy_idx').on(t.strategyId, t.startedAt), uniqueIndex('strategy_runs_tick_uq').on(t.strategyId, t.tickKey)],
);

/** A signal: one action on one instrument at one closed bar, at most once per (strategy, bar, symbol, action). */
export const strategySignals = pgTable(
  'strategy_signals',
  {
    id: id(),
    strategyId: uuid('strategy_id').notNull().references(() => strategies.id, { onDelete: 'cascade' }),
    runId: uuid('run_id').references(() => strategyRuns.id, { onDelete: 'set null' }),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    action: text('action').notNull(),
    price: price('price'),
    quantity: qty('quantity'),
    barTime: ts('bar_time').notNull(),
    /** NEW (signal only), PENDING_APPROVAL, APPROVED, REJECTED, ORDERED, FAILED. */
    status: text('status').notNull(),
    orderId: uuid('order_id').references(() => orders.id, { onDelete: 'set null' }),
    reason: text('reason'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('strategy_signals_bar_uq').on(t.strategyId, t.instrumentId, t.barTime, t.action),
    index('strategy_signals_run_idx').on(t.runId),
  ],
);

/** Where a strategy stands on each instrument: its side and the last bar it evaluated. */
export const strategyPositions = pgTable(
  'strategy_positions',
  {
    strategyId: uuid('strategy_id').notNull().references(() => strategies.id, { onDelete: 'cascade' }),
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id),
    side: text('side').notNull(),
    quantity: qty('quantity').notNull().default('0'),
    lastBarAt: ts('last_bar_at'),
  },
  (t) => [primaryKey({ columns: [t.strategyId, t.instrumentId] })],
);

export const screeners = pgTable(
  'screeners',
  {
    id: id(),
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    params: jsonb('params').notNull().default({}),
    rule: text('rule'),
    universe: jsonb('universe').notNull().default({}),
    interval: text('interval').notNull().default('1d'),
    schedule: text('schedule'),
    timezone: text('timezone'),
    outputWatchlistId: uuid('output_watchlist_id'),
    createdAt: createdAt(),
  },
  (t) => [index('screeners_owner_idx').on(t.ownerId)],
);

export const screenerRuns = pgTable(
  'screener_runs',
  {
    id: id(),
    screenerId: uuid('screener_id').notNull().references(() => screeners.id, { onDelete: 'cascade' }),
    tickKey: text('tick_key'),
    /** [{ instrumentId, score, values }] best first. */
    matches: jsonb('matches').notNull().default([]),
    finishedAt: ts('finished_at'),
    createdAt: createdAt(),
  },
  (t) => [index('screener_runs_screener_idx').on(t.screenerId, t.createdAt), uniqueIndex('screener_runs_tick_uq').on(t.screenerId, t.tickKey)],
);

/** An earnings calendar (imported): estimates and actuals per instrument and report date. */
export const earnings = pgTable(
  'earnings',
  {
    instrumentId: uuid('instrument_id').notNull().references(() => instruments.id, { onDelete: 'cascade' }),
    date: date('date').notNull(),
    epsEstimate: price('eps_estimate'),
    epsActual: price('eps_actual'),
  },
  (t) => [primaryKey({ columns: [t.instrumentId, t.date] })],
);

export const backtests = pgTable(
  'backtests',
  {
    id: id(),
    ownerId: uuid('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    status: text('status').notNull(),
    progress: doublePrecision('progress').notNull().default(0),
    barsProcessed: integer('bars_processed').notNull().default(0),
    /** The definition and range, as resolved when it was queued. */
    input: jsonb('input').notNull(),
    metrics: jsonb('metrics'),
    /** [{ t, value, twrIndex, drawdown }] downsampled to at most 2,000 points when written. */
    equity: jsonb('equity'),
    trades: jsonb('trades'),
    signals: integer('signals').notNull().default(0),
    cancelRequested: boolean('cancel_requested').notNull().default(false),
    error: text('error'),
    createdAt: createdAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('backtests_owner_idx').on(t.ownerId)],
);
