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
import { upstoxStatus } from './status-map.js';

/**
 * Upstox wire format (BROKERS.md §2; upstox-python `order_controller_v_3_api.py`, `order_api.py`,
 * models): JSON bodies; `Authorization: Bearer`, `Accept: application/json`, `Api-Version: 2.0` on v2
 * routes; orders on the HFT host at /v3/order/*; replies `{status:"success",data}` or
 * `{status:"error",errors:[{errorCode,message,propertyPath,invalidValue}]}`.
 */

export interface UpstoxOrderRow {
  order_id: string;
  exchange: string;
  instrument_token?: string;
  tradingsymbol?: string;
  trading_symbol?: string;
  transaction_type: 'BUY' | 'SELL';
  order_type: string;
  status: string;
  status_message?: string | null;
  quantity: number;
  filled_quantity?: number;
  average_price?: number;
  /** The order's own price, trigger, validity and disclosed quantity (a modify must send them all). */
  price?: number;
  trigger_price?: number;
  validity?: string;
  disclosed_quantity?: number;
  tag?: string | null;
  order_timestamp?: string | null;
  exchange_timestamp?: string | null;
}

export interface UpstoxTradeRow {
  trade_id: string;
  order_id: string;
  quantity: number;
  average_price: number;
  exchange_timestamp?: string | null;
}

export const headers = (accessToken: string): Record<string, string> => ({
  Authorization: `Bearer ${accessToken}`,
  Accept: 'application/json',
  'Api-Version': '2.0',
});

const TYPES: Record<BrokerOrderType, string> = { MARKET: 'MARKET', LIMIT: 'LIMIT', STOP: 'SL-M', STOP_LIMIT: 'SL' };
const FROM: Record<string, BrokerOrderType> = { MARKET: 'MARKET', LIMIT: 'LIMIT', 'SL-M': 'STOP', SL: 'STOP_LIMIT' };

export function num(v: unknown): string {
  if (v === null || v === undefined || v === '') return '0';
  return fmt(dec(String(v)));
}

/** POST /v3/order/place (JSON). Upstox wants numbers for quantity and prices. */
export function placeOrderRequest(req: BrokerOrderRequest, instrumentToken: string, tag: string, product: string): WireRequest {
  if (req.timeInForce !== 'DAY' && req.timeInForce !== 'IOC') throw new BrokerRejectedError(`Upstox accepts DAY or IOC orders, not ${req.timeInForce}`);
  if (!dec(req.quantity).isInteger() || dec(req.quantity).lte(0)) throw new BrokerRejectedError('quantity must be a positive whole number');
  const limit = req.type === 'LIMIT' || req.type === 'STOP_LIMIT';
  const stop = req.type === 'STOP' || req.type === 'STOP_LIMIT';
  return {
    method: 'POST',
    path: '/v3/order/place',
    json: {
      quantity: Number(req.quantity),
      product,
      validity: req.timeInForce,
      price: limit && req.limitPrice ? Number(req.limitPrice) : 0,
      tag,
      instrument_token: instrumentToken,
      order_type: TYPES[req.type],
      transaction_type: req.side,
      disclosed_quantity: 0,
      trigger_price: stop && req.stopPrice ? Number(req.stopPrice) : 0,
      is_amo: false,
      slice: false,
    },
  };
}

export function toBrokerOrder(o: UpstoxOrderRow, clientOrderId: string): BrokerOrder {
  const filled = num(o.filled_quantity);
  const avg = num(o.average_price);
  return {
    brokerOrderId: String(o.order_id),
    clientOrderId,
    symbol: o.trading_symbol ?? o.tradingsymbol ?? '',
    exchange: o.exchange,
    side: o.transaction_type,
    type: FROM[o.order_type] ?? 'LIMIT',
    quantity: num(o.quantity),
    filledQuantity: filled,
    averagePrice: dec(avg).gt(0) ? avg : null,
    status: upstoxStatus(o.status ?? '', filled),
    rejectReason: o.status_message ?? null,
    updatedAt: istToIso(o.exchange_timestamp) ?? istToIso(o.order_timestamp) ?? new Date().toISOString(),
  };
}

export function toBrokerFill(t: UpstoxTradeRow, clientOrderId: string): BrokerFill {
  return {
    brokerFillId: String(t.trade_id),
    brokerOrderId: String(t.order_id),
    clientOrderId,
    quantity: num(t.quantity),
    price: num(t.average_price),
    fee: '0',
    executedAt: istToIso(t.exchange_timestamp) ?? new Date().toISOString(),
  };
}

/** Token error codes: invalid / expired token, and "not allowed with extended_token". */
const TOKEN_CODES = new Set(['UDAPI100050', 'UDAPI100016', 'UDAPI100067']);

export function unwrap<T>(res: WireResponse, what: string): T {
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { status?: string; data?: T; errors?: Array<{ errorCode?: string; error_code?: string; message?: string }> };
  if (res.status < 300 && body.status === 'success') return body.data as T;
  const e = body.errors?.[0];
  const code = e?.errorCode ?? e?.error_code ?? '';
  const message = (e?.message ?? `HTTP ${res.status}`).slice(0, 300);
  if (res.status === 401 || TOKEN_CODES.has(code)) throw new BrokerAuthError(`Upstox session is no longer valid (${message}); reconnect the account`);
  if (res.status >= 500) throw new BrokerTransientError(`Upstox ${what}: ${message}`);
  if (res.status >= 400) throw new BrokerRejectedError(`${what}: ${message}`, message);
  throw new BrokerTransientError(`Upstox ${what}: unexpected reply (HTTP ${res.status})`);
}
