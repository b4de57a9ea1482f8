import { dec, fmt } from '../../lib/decimal.js';
import { BrokerAuthError, BrokerRejectedError, BrokerTransientError, type BrokerFill, type BrokerOrder, type BrokerOrderRequest, type BrokerOrderType } from '../broker.js';
import type { WireRequest, WireResponse } from '../connections/wire-http.js';
import { angelStatus } from './status-map.js';

/**
 * Angel One SmartAPI wire format (BROKERS.md §4; angel-one/smartapi-python `smartConnect.py`): JSON with
 * string values; headers Authorization Bearer jwt, X-PrivateKey (API key), X-UserType USER, X-SourceID WEB,
 * X-ClientLocalIP, X-ClientPublicIP, X-MACAddress; replies `{status:true,message:"SUCCESS",errorcode:"",data}`
 * or `{status:false,message,errorcode:"AB1007",data:null}`.
 */

export const ORDER = '/rest/secure/angelbroking/order/v1';

export function headers(apiKey: string, jwt?: string): Record<string, string> {
  return {
    Accept: 'application/json',
    'X-UserType': 'USER',
    'X-SourceID': 'WEB',
    'X-ClientLocalIP': '127.0.0.1',
    'X-ClientPublicIP': '127.0.0.1',
    'X-MACAddress': '00:00:00:00:00:00',
    'X-PrivateKey': apiKey,
    ...(jwt ? { Authorization: `Bearer ${jwt}` } : {}),
  };
}

export interface AngelOrderRow {
  orderid: string;
  uniqueorderid?: string;
  tradingsymbol: string;
  symboltoken?: string;
  exchange: string;
  transactiontype: 'BUY' | 'SELL';
  ordertype: string;
  variety?: string;
  quantity: string;
  /** The order's limit and trigger prices as the order book shows them (0 when none). */
  price?: string | number;
  triggerprice?: string | number;
  filledshares?: string;
  averageprice?: string | number;
  status?: string;
  orderstatus?: string;
  text?: string;
  ordertag?: string;
}

export interface AngelTradeRow {
  orderid: string;
  fillid: string;
  fillsize: string | number;
  fillprice: string | number;
  filltime?: string;
}

const TYPES: Record<BrokerOrderType, string> = { MARKET: 'MARKET', LIMIT: 'LIMIT', STOP: 'STOPLOSS_MARKET', STOP_LIMIT: 'STOPLOSS_LIMIT' };
const FROM: Record<string, BrokerOrderType> = { MARKET: 'MARKET', LIMIT: 'LIMIT', STOPLOSS_MARKET: 'STOP', STOPLOSS_LIMIT: 'STOP_LIMIT' };

export const num = (v: unknown) => (v === null || v === undefined || v === '' ? '0' : fmt(dec(String(v))));

/** Angel trades equities as `INFY-EQ`. */
export const angelSymbol = (symbol: string) => (symbol.includes('-') ? symbol : `${symbol}-EQ`);
export const fromAngelSymbol = (s: string) => s.replace(/-(EQ|BE)$/, '');

export function placeOrderRequest(req: BrokerOrderRequest, symboltoken: string, tag: string, product: string): WireRequest {
  if (req.timeInForce !== 'DAY' && req.timeInForce !== 'IOC') throw new BrokerRejectedError(`Angel One accepts DAY or IOC orders, not ${req.timeInForce}`);
  if (!dec(req.quantity).isInteger() || dec(req.quantity).lte(0)) throw new BrokerRejectedError('quantity must be a positive whole number');
  const stop = req.type === 'STOP' || req.type === 'STOP_LIMIT';
  return {
    method: 'POST',
    path: `${ORDER}/placeOrder`,
    json: {
      variety: stop ? 'STOPLOSS' : 'NORMAL',
      tradingsymbol: angelSymbol(req.instrument.symbol),
      symboltoken,
      transactiontype: req.side,
      exchange: req.instrument.exchange,
      ordertype: TYPES[req.type],
      producttype: product,
      duration: req.timeInForce,
      price: req.limitPrice && (req.type === 'LIMIT' || req.type === 'STOP_LIMIT') ? fmt(req.limitPrice) : '0',
      triggerprice: stop && req.stopPrice ? fmt(req.stopPrice) : '0',
      quantity: fmt(req.quantity),
      ordertag: tag,
    },
  };
}

export function toBrokerOrder(o: AngelOrderRow, clientOrderId: string): BrokerOrder {
  const filled = num(o.filledshares);
  const avg = num(o.averageprice);
  return {
    brokerOrderId: String(o.orderid),
    clientOrderId,
    symbol: fromAngelSymbol(o.tradingsymbol),
    exchange: o.exchange,
    side: o.transactiontype,
    type: FROM[o.ordertype] ?? 'LIMIT',
    quantity: num(o.quantity),
    filledQuantity: filled,
    averagePrice: dec(avg).gt(0) ? avg : null,
    status: angelStatus(o.orderstatus || o.status || '', filled),
    rejectReason: o.text || null,
    updatedAt: new Date().toISOString(),
  };
}

export function toBrokerFill(t: AngelTradeRow, clientOrderId: string): BrokerFill {
  return { brokerFillId: String(t.fillid), brokerOrderId: String(t.orderid), clientOrderId, quantity: num(t.fillsize), price: num(t.fillprice), fee: '0', executedAt: new Date().toISOString() };
}

/** AG8001 invalid token, AG8002 token expired, AG8003 token missing; AB1010 / AB8050 session errors. */
const TOKEN_CODES = new Set(['AG8001', 'AG8002', 'AG8003', 'AB1010', 'AB8050', 'AB8051']);

export function unwrap<T>(res: WireResponse, what: string): T {
  const b = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { status?: boolean; message?: string; errorcode?: string; data?: T };
  if (res.status < 300 && b.status === true) return b.data as T;
  const message = (b.message ?? `HTTP ${res.status}`).slice(0, 300);
  if (res.status === 401 || res.status === 403 || TOKEN_CODES.has(b.errorcode ?? '')) throw new BrokerAuthError(`Angel One session is no longer valid (${message}); reconnect the account`);
  if (res.status >= 500) throw new BrokerTransientError(`Angel One ${what}: ${message}`);
  throw new BrokerRejectedError(`${what}: ${message}`, message);
}
