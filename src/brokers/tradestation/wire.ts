import { dec, fmt } from '../../lib/decimal.js';
import {
  BrokerAuthError,
  BrokerRejectedError,
  BrokerTransientError,
  type BrokerOrder,
  type BrokerOrderRequest,
  type BrokerOrderType,
} from '../broker.js';
import type { WireRequest, WireResponse } from '../connections/wire-http.js';
import { tradeStationStatus } from './status-map.js';

/**
 * TradeStation API v3 wire format (BROKERS.md §7; api.tradestation.com/docs, tradestation/api-docs).
 * JSON both ways, PascalCase fields, every number a string; errors are `{"Error","Message"}`. The base
 * URL ends in /v3 (https://api.tradestation.com/v3, sim https://sim-api.tradestation.com/v3), so paths
 * here start at /brokerage, /orderexecution and /marketdata. Nothing here leaves the tradestation folder.
 */

export interface TsLeg {
  AssetType?: string;
  BuyOrSell?: string;
  OpenOrClose?: string;
  Symbol?: string;
  QuantityOrdered?: string;
  ExecQuantity?: string;
  QuantityRemaining?: string;
  ExecutionPrice?: string;
}

/** An order of `GET /brokerage/accounts/{ids}/orders` and of the order stream. */
export interface TsOrder {
  AccountID: string;
  OrderID: string;
  Status: string;
  StatusDescription?: string;
  OrderType?: string;
  Duration?: string;
  Symbol?: string;
  Quantity?: string;
  FilledQuantity?: string;
  RemainingQuantity?: string;
  /** Average price of what filled. */
  FilledPrice?: string;
  LimitPrice?: string;
  StopPrice?: string;
  /** Commission charged so far (cumulative over the order's executions). */
  CommissionFee?: string;
  Currency?: string;
  OpenedDateTime?: string;
  ClosedDateTime?: string;
  RejectReason?: string;
  Routing?: string;
  Legs?: TsLeg[];
}

export interface TsAccount {
  AccountID: string;
  AccountType?: string;
  Currency?: string;
  Status?: string;
}

export interface TsPosition {
  AccountID?: string;
  Symbol: string;
  Quantity: string;
  AveragePrice: string;
  LongShort?: string;
}

export interface TsBalance {
  AccountID: string;
  CashBalance?: string;
  BuyingPower?: string;
}

/** The reply of place, replace and cancel. */
export interface TsOrderReply {
  Orders?: Array<{ OrderID: string; Message?: string; Error?: string }>;
  Errors?: Array<{ OrderID?: string; Error?: string; Message?: string }>;
  OrderID?: string;
  Message?: string;
}

export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/** A string or number as decimal text ('0' when absent). */
export function num(v: unknown): string {
  if (v === null || v === undefined || v === '') return '0';
  return fmt(dec(String(v)));
}

const TYPES: Record<BrokerOrderType, string> = { MARKET: 'Market', LIMIT: 'Limit', STOP: 'StopMarket', STOP_LIMIT: 'StopLimit' };
const FROM_TYPE: Record<string, BrokerOrderType> = { Market: 'MARKET', Limit: 'LIMIT', StopMarket: 'STOP', StopLimit: 'STOP_LIMIT' };

/**
 * POST /orderexecution/orders. US equities trade in whole shares here (TradeStation takes no fractional
 * equity orders); prices go at most to the cent above $1 and to 1/100 cent below (Reg NMS sub-penny).
 */
export function placeOrderRequest(req: BrokerOrderRequest, tsAccountId: string, route: string): WireRequest {
  const qty = dec(req.quantity);
  if (!qty.gt(0)) throw new BrokerRejectedError('quantity must be positive');
  if (!qty.isInteger()) throw new BrokerRejectedError(`${req.instrument.symbol} trades in whole shares at TradeStation`);
  const json: Record<string, unknown> = {
    AccountID: tsAccountId,
    Symbol: req.instrument.symbol,
    Quantity: fmt(qty),
    OrderType: TYPES[req.type],
    TradeAction: req.side,
    TimeInForce: { Duration: req.timeInForce },
    Route: route,
  };
  if (req.type === 'LIMIT' || req.type === 'STOP_LIMIT') {
    if (!req.limitPrice) throw new BrokerRejectedError('a limit price is required');
    json.LimitPrice = price(req.limitPrice);
  }
  if (req.type === 'STOP' || req.type === 'STOP_LIMIT') {
    if (!req.stopPrice) throw new BrokerRejectedError('a stop price is required');
    json.StopPrice = price(req.stopPrice);
  }
  return { method: 'POST', path: '/orderexecution/orders', json };
}

function price(p: string): string {
  const d = dec(p);
  if (!d.gt(0)) throw new BrokerRejectedError('prices must be positive');
  if (d.decimalPlaces() > (d.gte(1) ? 2 : 4)) throw new BrokerRejectedError(`price ${p} is not on the penny grid`);
  return fmt(d);
}

/** PUT /orderexecution/orders/{id}: quantity and prices of a working order. */
export function replaceOrderRequest(orderId: string, change: { quantity?: string; limitPrice?: string; stopPrice?: string }): WireRequest {
  const json: Record<string, string> = {};
  if (change.quantity) json.Quantity = fmt(change.quantity);
  if (change.limitPrice) json.LimitPrice = price(change.limitPrice);
  if (change.stopPrice) json.StopPrice = price(change.stopPrice);
  return { method: 'PUT', path: `/orderexecution/orders/${encodeURIComponent(orderId)}`, json };
}

/** Quantity, filled quantity and side, from the top-level fields or else the (single) leg. */
export function orderFigures(o: TsOrder): { symbol: string; side: 'BUY' | 'SELL'; quantity: string; filled: string } {
  const legs = o.Legs ?? [];
  const leg = legs[0] ?? {};
  const quantity = o.Quantity ?? leg.QuantityOrdered;
  const filled = o.FilledQuantity ?? (legs.length ? fmt(legs.reduce((a, l) => a.plus(dec(l.ExecQuantity || '0')), dec(0))) : '0');
  const side = /sell/i.test(leg.BuyOrSell ?? '') ? 'SELL' : 'BUY';
  return { symbol: o.Symbol ?? leg.Symbol ?? '', side, quantity: num(quantity), filled: num(filled) };
}

/** The average fill price: FilledPrice, else the leg's execution price. Null before any fill. */
export function averagePrice(o: TsOrder): string | null {
  const raw = o.FilledPrice && dec(o.FilledPrice).gt(0) ? o.FilledPrice : o.Legs?.[0]?.ExecutionPrice;
  return raw && dec(raw).gt(0) ? num(raw) : null;
}

export function toBrokerOrder(o: TsOrder, clientOrderId: string, exchange: string, now: string): BrokerOrder {
  const f = orderFigures(o);
  const status = tradeStationStatus(o.Status ?? '', f.filled, f.quantity);
  return {
    brokerOrderId: o.OrderID,
    clientOrderId,
    symbol: f.symbol,
    exchange,
    side: f.side,
    type: FROM_TYPE[o.OrderType ?? ''] ?? 'LIMIT',
    quantity: f.quantity,
    filledQuantity: f.filled,
    averagePrice: averagePrice(o),
    status,
    rejectReason: status === 'REJECTED' ? (o.RejectReason ?? o.StatusDescription ?? 'rejected by TradeStation').slice(0, 300) : null,
    updatedAt: o.ClosedDateTime ?? o.OpenedDateTime ?? now,
  };
}

/** The error message of a TradeStation body (`{"Error","Message"}`, or an `Errors` list). */
export function errorMessage(body: unknown, status: number): string {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { Message?: string; Error?: string; Errors?: Array<{ Message?: string; Error?: string }> };
  const m = b.Message ?? b.Errors?.[0]?.Message ?? b.Error ?? b.Errors?.[0]?.Error;
  return typeof m === 'string' ? m.slice(0, 300) : `HTTP ${status}`;
}

/**
 * The body of a 2xx reply, or the typed broker error: 401 is a refused token (the connection must
 * refresh or reconnect); 400/403/404/409 are final refusals; 5xx (and 504 timeouts) are transient. 429
 * never arrives here (WireHttp waits it out, then gives up with BrokerRateLimitedError).
 */
export function unwrap<T>(res: WireResponse, what: string): T {
  if (res.status >= 200 && res.status < 300) return res.body as T;
  const message = errorMessage(res.body, res.status);
  if (res.status === 401) throw new BrokerAuthError(`TradeStation refused the access token (${message}); reconnect the account`);
  if (res.status >= 500) throw new BrokerTransientError(`TradeStation ${what}: ${message}`);
  if (res.status >= 400) throw new TradeStationRefusal(`${what}: ${message}`, message, res.status);
  throw new BrokerTransientError(`TradeStation ${what}: unexpected reply (HTTP ${res.status})`);
}

/** A 4xx refusal, keeping the HTTP status (404 is "no such order" to the adapter). */
export class TradeStationRefusal extends BrokerRejectedError {
  constructor(
    message: string,
    reason: string,
    readonly status: number,
  ) {
    super(message, reason);
  }
}

/** The order id of a place/replace reply, or the refusal it carries (HTTP 200 with `Errors`). */
export function replyOrderId(reply: TsOrderReply, what: string): string {
  const id = reply?.Orders?.[0]?.OrderID ?? reply?.OrderID;
  if (id && !reply.Orders?.[0]?.Error) return String(id);
  const message = errorMessage(reply?.Errors?.length ? { Errors: reply.Errors } : reply, 200);
  throw new TradeStationRefusal(`${what}: ${message}`, message, 400);
}
