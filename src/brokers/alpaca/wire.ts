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
import { alpacaStatus } from './status-map.js';

/**
 * Alpaca Trading API v2 wire format (BROKERS.md §6; alpaca-py `alpaca/trading/*`, docs.alpaca.markets).
 * JSON bodies both ways, decimals as strings, lowercase enums; errors are `{"code":40010001,"message"}`.
 * Nothing here leaves the alpaca folder.
 */

export interface AlpacaOrder {
  id: string;
  client_order_id: string;
  created_at?: string;
  updated_at?: string | null;
  submitted_at?: string | null;
  filled_at?: string | null;
  symbol: string;
  asset_class?: string;
  qty?: string | null;
  notional?: string | null;
  filled_qty?: string | null;
  filled_avg_price?: string | null;
  order_class?: string;
  type?: string;
  order_type?: string;
  side: 'buy' | 'sell';
  time_in_force?: string;
  limit_price?: string | null;
  stop_price?: string | null;
  status: string;
  replaced_by?: string | null;
  replaces?: string | null;
}

/** One row of `GET /v2/account/activities/FILL`. */
export interface AlpacaFillActivity {
  id: string;
  activity_type: 'FILL';
  transaction_time: string;
  type: 'fill' | 'partial_fill';
  price: string;
  qty: string;
  side: string;
  symbol: string;
  leaves_qty: string;
  order_id: string;
  cum_qty: string;
  order_status?: string;
}

/** `data` of a `trade_updates` stream message. */
export interface AlpacaTradeUpdate {
  event: string;
  execution_id?: string;
  order: AlpacaOrder;
  timestamp?: string;
  price?: string | number;
  qty?: string | number;
  position_qty?: string | number;
}

export interface AlpacaPosition {
  symbol: string;
  exchange: string;
  qty: string;
  side?: string;
  avg_entry_price: string;
}

export interface AlpacaAccount {
  id: string;
  account_number: string;
  status: string;
  currency: string;
  cash: string;
  buying_power: string;
}

export function alpacaHeaders(keyId: string, secretKey: string): Record<string, string> {
  return { 'APCA-API-KEY-ID': keyId, 'APCA-API-SECRET-KEY': secretKey };
}

/** OAuth connections (a client id) send `Authorization: Bearer <access token>`; key connections the key headers. */
export function alpacaAuthHeaders(app: Record<string, string>, token: string): Record<string, string> {
  return app.clientId ? { Authorization: `Bearer ${token}` } : alpacaHeaders(app.keyId ?? '', app.secretKey ?? token);
}

const TYPES: Record<BrokerOrderType, string> = { MARKET: 'market', LIMIT: 'limit', STOP: 'stop', STOP_LIMIT: 'stop_limit' };
const FROM_TYPE: Record<string, BrokerOrderType> = { market: 'MARKET', limit: 'LIMIT', stop: 'STOP', stop_limit: 'STOP_LIMIT' };
const TIF = { DAY: 'day', GTC: 'gtc', IOC: 'ioc' } as const;

/** Alpaca's exchange codes (positions, assets) → ours. */
const EXCHANGES: Record<string, string> = { ARCA: 'NYSEARCA', NYSEARCA: 'NYSEARCA', NASDAQ: 'NASDAQ', NYSE: 'NYSE', AMEX: 'AMEX', BATS: 'BATS', OTC: 'OTC' };
export const toOurExchange = (code: string | undefined): string => EXCHANGES[(code ?? '').toUpperCase()] ?? (code ?? '');

/** A JSON number or string as decimal text. */
export function num(v: unknown): string {
  if (v === null || v === undefined || v === '') return '0';
  return fmt(dec(String(v)));
}

/**
 * POST /v2/orders. Fractional quantities go only where the instrument allows them (its lot size is below
 * one share and `fractional` is on); Alpaca takes fractional orders as DAY only.
 */
export function placeOrderRequest(req: BrokerOrderRequest, fractional: boolean): WireRequest {
  const qty = dec(req.quantity);
  if (!qty.gt(0)) throw new BrokerRejectedError('quantity must be positive');
  if (!qty.isInteger()) {
    const lot = dec(req.instrument.lotSize || '1');
    if (!fractional || lot.gte(1) || !qty.mod(lot).isZero()) throw new BrokerRejectedError(`${req.instrument.symbol} trades in whole shares at Alpaca here`);
    if (req.timeInForce !== 'DAY') throw new BrokerRejectedError('Alpaca takes fractional orders as DAY orders only');
  }
  const json: Record<string, string> = {
    symbol: req.instrument.symbol,
    qty: fmt(qty),
    side: req.side === 'BUY' ? 'buy' : 'sell',
    type: TYPES[req.type],
    time_in_force: TIF[req.timeInForce],
    client_order_id: req.clientOrderId,
  };
  if (req.type === 'LIMIT' || req.type === 'STOP_LIMIT') {
    if (!req.limitPrice) throw new BrokerRejectedError('a limit price is required');
    json.limit_price = fmt(req.limitPrice);
  }
  if (req.type === 'STOP' || req.type === 'STOP_LIMIT') {
    if (!req.stopPrice) throw new BrokerRejectedError('a stop price is required');
    json.stop_price = fmt(req.stopPrice);
  }
  return { method: 'POST', path: '/v2/orders', json };
}

/** PATCH /v2/orders/{id}: Alpaca creates a replacement order (a new id) for what changes. */
export function replaceOrderRequest(orderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string; timeInForce?: 'DAY' | 'GTC' | 'IOC' }): WireRequest {
  const json: Record<string, string> = {};
  if (change.quantity) json.qty = fmt(change.quantity);
  if (change.timeInForce) json.time_in_force = TIF[change.timeInForce];
  if (change.limitPrice) json.limit_price = fmt(change.limitPrice);
  if (change.stopPrice) json.stop_price = fmt(change.stopPrice);
  return { method: 'PATCH', path: `/v2/orders/${encodeURIComponent(orderId)}`, json };
}

/** The fill id both sources agree on: the order id and its cumulative filled quantity after the fill. */
export function fillId(orderId: string, cumQty: string): string {
  return `${orderId}@${num(cumQty)}`; // no ":" (job ids)
}

export function toBrokerOrder(o: AlpacaOrder, exchange: string): BrokerOrder {
  const filled = num(o.filled_qty);
  const qty = num(o.qty);
  const avg = o.filled_avg_price ? num(o.filled_avg_price) : null;
  return {
    brokerOrderId: o.id,
    clientOrderId: o.client_order_id,
    symbol: o.symbol,
    exchange,
    side: o.side === 'sell' ? 'SELL' : 'BUY',
    type: FROM_TYPE[o.type ?? o.order_type ?? ''] ?? 'LIMIT',
    quantity: qty,
    filledQuantity: filled,
    averagePrice: avg && dec(avg).gt(0) ? avg : null,
    status: alpacaStatus(o.status ?? '', filled, qty),
    rejectReason: o.status === 'rejected' ? 'rejected by Alpaca' : null,
    updatedAt: o.updated_at ?? o.submitted_at ?? o.created_at ?? new Date().toISOString(),
  };
}

/** A fill activity in our terms (Alpaca stock trades are commission-free: fee 0). */
export function activityToFill(a: AlpacaFillActivity, clientOrderId: string): BrokerFill {
  return { brokerFillId: fillId(a.order_id, a.cum_qty), brokerOrderId: a.order_id, clientOrderId, quantity: num(a.qty), price: num(a.price), fee: '0', executedAt: a.transaction_time };
}

/** A `fill` / `partial_fill` trade update in our terms; the order's filled_qty is the cumulative quantity. */
export function updateToFill(u: AlpacaTradeUpdate): BrokerFill {
  return {
    brokerFillId: fillId(u.order.id, String(u.order.filled_qty ?? '0')),
    brokerOrderId: u.order.id,
    clientOrderId: u.order.client_order_id,
    quantity: num(u.qty),
    price: num(u.price),
    fee: '0',
    executedAt: u.timestamp ?? new Date().toISOString(),
  };
}

/**
 * The body of a 2xx reply, or the typed broker error: 401 is a refused key (the user reconnects); 403
 * (forbidden: buying power, shorting) and 422 (unprocessable: bad price, sub-penny, duplicate
 * client_order_id) are final refusals; 5xx is transient. 429 never arrives here (WireHttp waits it out).
 */
export function unwrap<T>(res: WireResponse, what: string): T {
  if (res.status >= 200 && res.status < 300) return res.body as T;
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { code?: number; message?: string };
  const message = typeof body.message === 'string' ? body.message.slice(0, 300) : `HTTP ${res.status}`;
  if (res.status === 401) throw new BrokerAuthError(`Alpaca refused the API key (${message}); reconnect the account`);
  if (res.status >= 500) throw new BrokerTransientError(`Alpaca ${what}: ${message}`);
  if (res.status >= 400) throw new AlpacaRefusal(`${what}: ${message}`, message, res.status, body.code);
  throw new BrokerTransientError(`Alpaca ${what}: unexpected reply (HTTP ${res.status})`);
}

/** A 4xx refusal, keeping Alpaca's status and code (404 is "no such order" to the adapter). */
export class AlpacaRefusal extends BrokerRejectedError {
  constructor(
    message: string,
    reason: string,
    readonly status: number,
    readonly code?: number,
  ) {
    super(message, reason);
  }
}
