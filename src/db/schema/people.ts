import { sql } from 'drizzle-orm';
import { bigserial, boolean, index, integer, jsonb, numeric, pgEnum, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, ts, updatedAt } from './common.js';
import { users } from './users.js';
import { portfolios } from './portfolios.js';

/** A user signed in through an external OpenID Connect issuer: (issuer, subject) → user. */
export const userIdentities = pgTable(
  'user_identities',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('user_identities_iss_sub_uq').on(t.issuer, t.subject), index('user_identities_user_idx').on(t.userId)],
);

export const riskLevelEnum = pgEnum('risk_level', ['CONSERVATIVE', 'MODERATE', 'BALANCED', 'GROWTH', 'AGGRESSIVE']);

/** One investment profile per portfolio, set by its owner or the owner's advisor. */
export const investmentProfiles = pgTable('investment_profiles', {
  portfolioId: uuid('portfolio_id')
    .primaryKey()
    .references(() => portfolios.id, { onDelete: 'cascade' }),
  riskLevel: riskLevelEnum('risk_level').notNull(),
  horizonYears: integer('horizon_years'),
  objectives: text('objectives'),
  /** Fraction of the portfolio's value (0 < w <= 1). */
  maxPositionWeight: numeric('max_position_weight', { precision: 12, scale: 8 }),
  excludedSymbols: text('excluded_symbols').array().notNull().default(sql`'{}'::text[]`),
  updatedBy: uuid('updated_by'),
  updatedAt: updatedAt(),
});

/**
 * Append-only, hash-chained: each entry's hash covers its content and the previous entry's hash.
 * No foreign keys, so deleting a user never rewrites history.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull(),
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    subjectId: text('subject_id'),
    data: jsonb('data').$type<Record<string, unknown>>(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [index('audit_log_actor_idx').on(t.actorId), index('audit_log_action_idx').on(t.action)],
);

export const notifications = pgTable(
  'notifications',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    /** The event id it came from: one notification per user and event. */
    eventId: uuid('event_id').notNull(),
    kind: text('kind').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>(),
    readAt: ts('read_at'),
    createdAt: createdAt(),
  },
  (t) => [index('notifications_user_idx').on(t.userId, t.createdAt), uniqueIndex('notifications_user_event_uq').on(t.userId, t.eventId)],
);

export const notificationPreferences = pgTable(
  'notification_preferences',
  {
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    inApp: boolean('in_app').notNull().default(true),
    email: boolean('email').notNull().default(true),
    webhook: boolean('webhook').notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.userId, t.type] })],
);

export const webhooks = pgTable(
  'webhooks',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: text('events').array().notNull(),
    /** The signing secret, sealed with ENCRYPTION_KEY (AES-256-GCM). */
    secretSealed: text('secret_sealed').notNull(),
    active: boolean('active').notNull().default(true),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    deletedAt: ts('deleted_at'),
    createdAt: createdAt(),
  },
  (t) => [index('webhooks_user_idx').on(t.userId)],
);

export const deliveryStatusEnum = pgEnum('delivery_status', ['PENDING', 'DELIVERED', 'FAILED']);

/** One row per (channel target, event): its attempts and outcome. */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(), // WEBHOOK | EMAIL
    webhookId: uuid('webhook_id').references(() => webhooks.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: deliveryStatusEnum('status').notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: ts('delivered_at'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('notification_deliveries_target_event_uq').on(t.channel, t.userId, t.webhookId, t.eventId),
    index('notification_deliveries_webhook_idx').on(t.webhookId),
  ],
);

export const proposalStatusEnum = pgEnum('proposal_status', ['PENDING', 'APPROVED', 'REJECTED', 'EXPIRED', 'CANCELED', 'EXECUTED']);

/** An advisor's recommendation for a client's portfolio; it trades only when the client approves. */
export const proposals = pgTable(
  'proposals',
  {
    id: id(),
    advisorId: uuid('advisor_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    clientId: uuid('client_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    portfolioId: uuid('portfolio_id').notNull().references(() => portfolios.id, { onDelete: 'cascade' }),
    rationale: text('rationale').notNull(),
    status: proposalStatusEnum('status').notNull().default('PENDING'),
    /** Explicit order lines: [{ symbol, exchange, side, quantity, type, limitPrice }]. */
    lines: jsonb('lines').$type<Array<Record<string, string | null>>>().notNull(),
    smallcaseId: uuid('smallcase_id'),
    amount: numeric('amount', { precision: 24, scale: 8 }),
    warnings: text('warnings').array().notNull().default(sql`'{}'::text[]`),
    /** Basket run placed on approval (when the basket service is present). */
    runId: uuid('run_id'),
    /** Orders placed on approval. */
    orderIds: uuid('order_ids').array().notNull().default(sql`'{}'::uuid[]`),
    clientRequestId: text('client_request_id'),
    decisionReason: text('decision_reason'),
    expiresAt: ts('expires_at'),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('proposals_client_idx').on(t.clientId, t.createdAt),
    index('proposals_advisor_idx').on(t.advisorId, t.createdAt),
    index('proposals_pending_expiry_idx').on(t.status, t.expiresAt),
  ],
);
