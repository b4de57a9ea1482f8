import { createHash } from 'node:crypto';
import { dec, fmt } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRejectedError,
  BrokerTransientError,
  type BrokerFill,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerOrderType,
} from '../broker.js';
import type { WireRequest, WireResponse } from '../connections/wire-http.js';
import { istToIso } from '../connections/expiry.js';
import { kiteStatus } from './status-map.js';

/**
 * Kite Connect v3 wire format (BROKERS.md §1; pykiteconnect `connect.py`, kiteconnect-mocks). Bodies of
 * POST/PUT are form-encoded; every reply is `{"status":"success","data":…}` or
 * `{"status":"error","message","error_type"}`. Nothing here leaves the zerodha folder.
 */

export const KITE_VERSION = '3';

export interface KiteOrderRow {
  order_id: string;
  exchange_order_id?: string | null;
  status: string;
  status_message?: string | null;
  tradingsymbol: string;
  exchange: string;
  transaction_type: 'BUY' | 'SELL';
  order_type: string;
  quantity: number | string;
  filled_quantity?: number | string;
  pending_quantity?: number | string;
  average_price?: number | string;
  price?: number | string;
  trigger_price?: number | string;
  tag?: string | null;
  order_timestamp?: string | null;
  exchange_update_timestamp?: string | null;
  exchange_timestamp?: string | null;
}

export interface KiteTradeRow {
  trade_id: string;
  order_id: string;
  quantity: number | string;
  average_price: number | string;
  fill_timestamp?: string | null;
  exchange_timestamp?: string | null;
}

/** Headers of every authenticated call. */
export function kiteHeaders(apiKey: string, accessToken: string): Record<string, string> {
  return { 'X-Kite-Version': KITE_VERSION, Authorization: `token ${apiKey}:${accessToken}` };
}

/** checksum = SHA-256(api_key + request_token + api_secret), hex. */
export function sessionChecksum(apiKey: string, requestToken: string, apiSecret: string): string {
  return createHash('sha256').update(apiKey + requestToken + apiSecret).digest('hex');
}

/** Postback checksum = SHA-256(order_id + order_timestamp + api_secret), hex. */
export function postbackChecksum(orderId: string, orderTimestamp: string, apiSecret: string): string {
  return createHash('sha256').update(orderId + orderTimestamp + apiSecret).digest('hex');
}

const ORDER_TYPES: Record<BrokerOrderType, string> = { MARKET: 'MARKET', LIMIT: 'LIMIT', STOP: 'SL-M', STOP_LIMIT: 'SL' };
const FROM_KITE_TYPE: Record<string, BrokerOrderType> = { MARKET: 'MARKET', LIMIT: 'LIMIT', 'SL-M': 'STOP', SL: 'STOP_LIMIT' };

/** A JSON number or string as decimal text (Kite sends prices as JSON numbers). */
export function num(v: unknown): string {
  if (v === null || v === undefined || v === '') return '0';
  return fmt(dec(String(v)));
}

/** POST /orders/regular, form-encoded. */
export function placeOrderRequest(req: BrokerOrderRequest, tag: string, product: string): WireRequest {
  if (req.timeInForce !== 'DAY' && req.timeInForce !== 'IOC') throw new BrokerRejectedError(`Kite accepts DAY or IOC orders, not ${req.timeInForce}`);
  if (!dec(req.quantity).isInteger() || dec(req.quantity).lte(0)) throw new BrokerRejectedError('quantity must be a positive whole number of shares');
  const form: Record<string, string | undefined> = {
    tradingsymbol: req.instrument.symbol,
    exchange: req.instrument.exchange,
    transaction_type: req.side,
    order_type: ORDER_TYPES[req.type],
    quantity: fmt(req.quantity),
    product,
    validity: req.timeInForce,
    tag,
  };
  if (req.type === 'LIMIT' || req.type === 'STOP_LIMIT') form.price = req.limitPrice ? fmt(req.limitPrice) : undefined;
  if (req.type === 'STOP' || req.type === 'STOP_LIMIT') form.trigger_price = req.stopPrice ? fmt(req.stopPrice) : undefined;
  return { method: 'POST', path: '/orders/regular', form };
}

/** PUT /orders/regular/{id}: only what changes. */
export function modifyOrderRequest(orderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string; type?: BrokerOrderType }): WireRequest {
  return {
    method: 'PUT',
    path: `/orders/regular/${encodeURIComponent(orderId)}`,
    form: {
      quantity: change.quantity ? fmt(change.quantity) : undefined,
      price: change.limitPrice ? fmt(change.limitPrice) : undefined,
      trigger_price: change.stopPrice ? fmt(change.stopPrice) : undefined,
      order_type: change.type ? ORDER_TYPES[change.type] : undefined,
    },
  };
}

/** A Kite order row in our terms; `clientOrderId` comes from the tag through the order refs. */
export function toBrokerOrder(o: KiteOrderRow, clientOrderId: string): BrokerOrder {
  const filled = num(o.filled_quantity);
  const avg = num(o.average_price);
  return {
    brokerOrderId: String(o.order_id),
    clientOrderId,
    symbol: o.tradingsymbol,
    exchange: o.exchange,
    side: o.transaction_type,
    type: FROM_KITE_TYPE[o.order_type] ?? 'LIMIT',
    quantity: num(o.quantity),
    filledQuantity: filled,
    averagePrice: dec(avg).gt(0) ? avg : null,
    status: kiteStatus(o.status ?? '', filled),
    rejectReason: o.status_message ?? null,
    updatedAt: istToIso(o.exchange_update_timestamp) ?? istToIso(o.exchange_timestamp) ?? istToIso(o.order_timestamp) ?? new Date().toISOString(),
  };
}

export function toBrokerFill(t: KiteTradeRow, clientOrderId: string): BrokerFill {
  return {
    brokerFillId: String(t.trade_id),
    brokerOrderId: String(t.order_id),
    clientOrderId,
    quantity: num(t.quantity),
    price: num(t.average_price),
    // Kite reports charges per contract note, not per trade.
    fee: '0',
    executedAt: istToIso(t.fill_timestamp) ?? istToIso(t.exchange_timestamp) ?? new Date().toISOString(),
  };
}

/** Error types that mean the request itself was refused (final). */
const REFUSALS = new Set(['InputException', 'OrderException', 'MarginException', 'HoldingException', 'UserException', 'PermissionException']);

/**
 * The `data` of a success envelope, or the typed broker error for an error reply. 403 + TokenException
 * is an expired or revoked session. The broker's own message is kept (it explains the refusal) but
 * never anything of ours.
 */
export function unwrap<T>(res: WireResponse, what: string): T {
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { status?: string; data?: T; message?: string; error_type?: string };
  if (res.status < 300 && body.status === 'success') return body.data as T;
  const type = body.error_type ?? '';
  const message = typeof body.message === 'string' ? body.message.slice(0, 300) : `HTTP ${res.status}`;
  if (type === 'TokenException' || res.status === 403) throw new BrokerAuthError(`Kite session is no longer valid (${message}); reconnect the account`);
  if (REFUSALS.has(type) && res.status < 500) throw new BrokerRejectedError(`${what}: ${message}`, message);
  if (res.status >= 500 || type === 'NetworkException' || type === 'DataException') throw new BrokerTransientError(`Kite ${what}: ${message}`);
  if (res.status >= 400) throw new BrokerRejectedError(`${what}: ${message}`, message);
  throw new BrokerTransientError(`Kite ${what}: unexpected reply (HTTP ${res.status})`);
}
