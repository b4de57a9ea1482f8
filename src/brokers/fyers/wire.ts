import { createHash } from 'node:crypto';
import { dec, fmt } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRateLimitedError,
  BrokerRejectedError,
  BrokerTransientError,
  type BrokerFill,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerOrderType,
} from '../broker.js';
import type { WireRequest, WireResponse } from '../connections/wire-http.js';
import { fyersStatus } from './status-map.js';

/**
 * Fyers API v3 wire format (BROKERS.md §3; FyersDev/fyers-go-sdk `api.go`, `auth.go`, `models.go`):
 * JSON bodies, `Authorization: app_id:access_token`, replies `{s:"ok",code,message,…}` or
 * `{s:"error",code:<negative>,message}`; numeric order types, sides and statuses.
 */

export interface FyersOrderRow {
  id: string;
  exchOrdId?: string;
  symbol: string;
  qty: number;
  filledQty?: number;
  remainingQuantity?: number;
  limitPrice?: number;
  stopPrice?: number;
  tradedPrice?: number;
  type: number;
  side: number;
  status: number;
  message?: string;
  orderTag?: string;
  orderDateTime?: string;
}

export interface FyersTradeRow {
  orderNumber: string;
  tradeNumber: string;
  tradedQty: number;
  tradePrice: number;
  symbol?: string;
  orderDateTime?: string;
}

/** appIdHash = SHA-256(app_id + ":" + app_secret), hex. */
export const appIdHash = (appId: string, secret: string) => createHash('sha256').update(`${appId}:${secret}`).digest('hex');

export const authHeader = (appId: string, accessToken: string) => ({ Authorization: `${appId}:${accessToken}` });

const TYPES: Record<BrokerOrderType, number> = { LIMIT: 1, MARKET: 2, STOP: 3, STOP_LIMIT: 4 };
const FROM: Record<number, BrokerOrderType> = { 1: 'LIMIT', 2: 'MARKET', 3: 'STOP', 4: 'STOP_LIMIT' };

export function num(v: unknown): string {
  if (v === null || v === undefined || v === '') return '0';
  return fmt(dec(String(v)));
}

/** `NSE:INFY-EQ` ⇄ our exchange and symbol. */
export function fyersSymbol(exchange: string, symbol: string): string {
  return `${exchange}:${symbol}-EQ`;
}
export function fromFyersSymbol(s: string): { exchange: string; symbol: string } {
  const [exchange = '', rest = ''] = s.split(':');
  return { exchange, symbol: rest.replace(/-(EQ|BE)$/, '') };
}

export function placeOrderRequest(req: BrokerOrderRequest, symbol: string, tag: string, product: string): WireRequest {
  if (req.timeInForce !== 'DAY' && req.timeInForce !== 'IOC') throw new BrokerRejectedError(`Fyers accepts DAY or IOC orders, not ${req.timeInForce}`);
  if (!dec(req.quantity).isInteger() || dec(req.quantity).lte(0)) throw new BrokerRejectedError('quantity must be a positive whole number');
  const limit = req.type === 'LIMIT' || req.type === 'STOP_LIMIT';
  const stop = req.type === 'STOP' || req.type === 'STOP_LIMIT';
  return {
    method: 'POST',
    path: '/api/v3/orders/sync',
    json: {
      symbol,
      qty: Number(req.quantity),
      type: TYPES[req.type],
      side: req.side === 'BUY' ? 1 : -1,
      productType: product,
      limitPrice: limit && req.limitPrice ? Number(req.limitPrice) : 0,
      stopPrice: stop && req.stopPrice ? Number(req.stopPrice) : 0,
      disclosedQty: 0,
      validity: req.timeInForce,
      offlineOrder: false,
      stopLoss: 0,
      takeProfit: 0,
      orderTag: tag,
    },
  };
}

export function toBrokerOrder(o: FyersOrderRow, clientOrderId: string): BrokerOrder {
  const filled = num(o.filledQty);
  const avg = num(o.tradedPrice);
  const { exchange, symbol } = fromFyersSymbol(o.symbol);
  return {
    brokerOrderId: String(o.id),
    clientOrderId,
    symbol,
    exchange,
    side: o.side === -1 ? 'SELL' : 'BUY',
    type: FROM[o.type] ?? 'LIMIT',
    quantity: num(o.qty),
    filledQuantity: filled,
    averagePrice: dec(avg).gt(0) ? avg : null,
    status: fyersStatus(Number(o.status), filled),
    rejectReason: o.message || null,
    updatedAt: new Date().toISOString(),
  };
}

export function toBrokerFill(t: FyersTradeRow, clientOrderId: string): BrokerFill {
  return {
    brokerFillId: String(t.tradeNumber),
    brokerOrderId: String(t.orderNumber),
    clientOrderId,
    quantity: num(t.tradedQty),
    price: num(t.tradePrice),
    fee: '0',
    executedAt: new Date().toISOString(),
  };
}

/** Token errors: -8 expired, -15 invalid, -16 / -17 authentication failures. */
const TOKEN_CODES = new Set([-8, -15, -16, -17]);

export function unwrap<T>(res: WireResponse, what: string): T {
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { s?: string; code?: number; message?: string } & T;
  if (res.status < 300 && body.s === 'ok') {
    // 201: the order went out but no acknowledgement came back; look it up by tag rather than trust it.
    if (body.code === 201) throw new BrokerTransientError(`Fyers ${what}: no acknowledgement (code 201)`);
    return body;
  }
  const code = Number(body.code);
  const message = (body.message ?? `HTTP ${res.status}`).slice(0, 300);
  if (TOKEN_CODES.has(code) || res.status === 401) throw new BrokerAuthError(`Fyers session is no longer valid (${message}); reconnect the account`);
  if (code === -429) throw new BrokerRateLimitedError(60_000);
  if (res.status >= 500) throw new BrokerTransientError(`Fyers ${what}: ${message}`);
  throw new BrokerRejectedError(`${what}: ${message}`, message);
}
