import { index, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, ts, updatedAt } from './common.js';
import { users } from './users.js';
import { instruments } from './instruments.js';

/**
 * A user's link to a broker account. App credentials and session tokens are sealed together
 * (AES-256-GCM, see src/brokers/connections/vault.ts) in `credentialsSealed`; `keyId` names the key
 * that sealed them, so `rotate-key` can find what it must re-encrypt. Never returned by the API.
 */
export const brokerConnections = pgTable(
  'broker_connections',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    broker: text('broker').notNull(),
    /** The broker's id for the account (Kite user_id, Fyers fy_id, ...), known once connected. */
    accountId: text('account_id'),
    label: text('label'),
    credentialsSealed: text('credentials_sealed'),
    keyId: text('key_id'),
    /** PENDING → ACTIVE → EXPIRED | REVOKED | ERROR. */
    status: text('status').notNull().default('PENDING'),
    /** SHA-256 of the redirect `state` handed to the broker while PENDING; cleared once used. */
    stateHash: text('state_hash'),
    expiresAt: ts('expires_at'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('broker_connections_user_idx').on(t.userId), uniqueIndex('broker_connections_state_uq').on(t.stateHash)],
);

/**
 * Our client order id as the broker sees it (its tag / order reference, cut to the broker's length and
 * charset rules), so an order and its fills found at the broker map back to our order.
 */
export const brokerOrderRefs = pgTable(
  'broker_order_refs',
  {
    broker: text('broker').notNull(),
    account: text('account').notNull(),
    ref: text('ref').notNull(),
    clientOrderId: text('client_order_id').notNull(),
    brokerOrderId: text('broker_order_id'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('broker_order_refs_ref_uq').on(t.broker, t.account, t.ref), index('broker_order_refs_order_idx').on(t.broker, t.account, t.brokerOrderId)],
);

/**
 * Each broker's instrument master as imported (`import-instruments <broker> <file>`): the broker's token
 * for an instrument, matched to ours by exchange + symbol, or by ISIN through another broker's row.
 */
export const brokerInstruments = pgTable(
  'broker_instruments',
  {
    broker: text('broker').notNull(),
    exchange: text('exchange').notNull(),
    symbol: text('symbol').notNull(),
    token: text('token').notNull(),
    isin: text('isin'),
    lotSize: text('lot_size'),
    tickSize: text('tick_size'),
    instrumentId: uuid('instrument_id').references(() => instruments.id, { onDelete: 'set null' }),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('broker_instruments_symbol_uq').on(t.broker, t.exchange, t.symbol), index('broker_instruments_token_idx').on(t.broker, t.token), index('broker_instruments_isin_idx').on(t.isin)],
);
