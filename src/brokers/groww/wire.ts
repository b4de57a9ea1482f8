import { createHash } from 'node:crypto';
import { dec, fmt } from '../../lib/decimal.js';
import { BrokerAuthError, BrokerRejectedError, BrokerTransientError, type BrokerFill, type BrokerOrder, type BrokerOrderRequest, type BrokerOrderType } from '../broker.js';
import type { WireRequest, WireResponse } from '../connections/wire-http.js';
import { growwStatus } from './status-map.js';

/**
 * Groww Trade API wire format (BROKERS.md §5; groww.in/trade-api/docs): JSON; `Authorization: Bearer`,
 * `Accept: application/json`, `X-API-VERSION: 1.0`; replies `{status:"SUCCESS",payload}` or
 * `{status:"FAILURE",error:{code:"GA00x",message}}`.
 */
export const growwHeaders = (token: string) => ({ Authorization: `Bearer ${token}`, Accept: 'application/json', 'X-API-VERSION': '1.0' });

export interface GrowwOrderRow {
  groww_order_id: string;
  trading_symbol: string;
  exchange?: string;
  order_status: string;
  remark?: string | null;
  quantity: number;
  filled_quantity?: number;
  average_fill_price?: number;
  order_reference_id?: string;
  transaction_type: 'BUY' | 'SELL';
  order_type: string;
}

export interface GrowwTradeRow {
  groww_trade_id?: string;
  trade_id?: string;
  groww_order_id?: string;
  price: number;
  quantity: number;
}

const TYPES: Record<BrokerOrderType, string> = { MARKET: 'MARKET', LIMIT: 'LIMIT', STOP: 'SL_M', STOP_LIMIT: 'SL' };
const FROM: Record<string, BrokerOrderType> = { MARKET: 'MARKET', LIMIT: 'LIMIT', SL_M: 'STOP', SL: 'STOP_LIMIT' };
export const num = (v: unknown) => (v === null || v === undefined || v === '' ? '0' : fmt(dec(String(v))));

/** Approval flow (3p, from Groww's SDKs): checksum = SHA-256(api_secret + epoch seconds). */
export const approvalChecksum = (secret: string, timestamp: string) => createHash('sha256').update(secret + timestamp).digest('hex');

export function placeOrderRequest(req: BrokerOrderRequest, ref: string, product: string): WireRequest {
  if (req.timeInForce !== 'DAY') throw new BrokerRejectedError(`Groww accepts DAY orders, not ${req.timeInForce}`);
  if (!dec(req.quantity).isInteger() || dec(req.quantity).lte(0)) throw new BrokerRejectedError('quantity must be a positive whole number');
  const limit = req.type === 'LIMIT' || req.type === 'STOP_LIMIT';
  const stop = req.type === 'STOP' || req.type === 'STOP_LIMIT';
  return {
    method: 'POST',
    path: '/v1/order/create',
    json: {
      trading_symbol: req.instrument.symbol,
      quantity: Number(req.quantity),
      ...(limit && req.limitPrice ? { price: Number(req.limitPrice) } : {}),
      ...(stop && req.stopPrice ? { trigger_price: Number(req.stopPrice) } : {}),
      validity: 'DAY',
      exchange: req.instrument.exchange,
      segment: 'CASH',
      product,
      order_type: TYPES[req.type],
      transaction_type: req.side,
      order_reference_id: ref,
    },
  };
}

export function toBrokerOrder(o: GrowwOrderRow, clientOrderId: string): BrokerOrder {
  const filled = num(o.filled_quantity);
  const avg = num(o.average_fill_price);
  return {
    brokerOrderId: String(o.groww_order_id),
    clientOrderId,
    symbol: o.trading_symbol,
    exchange: o.exchange ?? 'NSE',
    side: o.transaction_type,
    type: FROM[o.order_type] ?? 'LIMIT',
    quantity: num(o.quantity),
    filledQuantity: filled,
    averagePrice: dec(avg).gt(0) ? avg : null,
    status: growwStatus(o.order_status ?? '', filled, num(o.quantity)),
    rejectReason: o.remark ?? null,
    updatedAt: new Date().toISOString(),
  };
}

export function toBrokerFill(t: GrowwTradeRow, brokerOrderId: string, clientOrderId: string): BrokerFill {
  return { brokerFillId: String(t.groww_trade_id ?? t.trade_id), brokerOrderId, clientOrderId, quantity: num(t.quantity), price: num(t.price), fee: '0', executedAt: new Date().toISOString() };
}

export function unwrap<T>(res: WireResponse, what: string): T {
  const b = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { status?: string; payload?: T; error?: { code?: string; message?: string } };
  if (res.status < 300 && b.status === 'SUCCESS') return b.payload as T;
  const code = b.error?.code ?? '';
  const message = (b.error?.message ?? `HTTP ${res.status}`).slice(0, 300);
  if (res.status === 401 || res.status === 403 || code === 'GA005') throw new BrokerAuthError(`Groww session is no longer valid (${message}); reconnect the account`);
  if (code === 'GA007') throw new DuplicateReferenceError();
  if (res.status >= 500) throw new BrokerTransientError(`Groww ${what}: ${message}`);
  throw new BrokerRejectedError(`${what}: ${message}`, message);
}

/** GA007: an order with this order_reference_id exists already (Groww's idempotency). */
export class DuplicateReferenceError extends Error {
  constructor() {
    super('duplicate order_reference_id');
    this.name = 'DuplicateReferenceError';
  }
}
