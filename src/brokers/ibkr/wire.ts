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
import { brokerRef } from '../connections/order-ref.js';
import type { WireRequest, WireResponse } from '../connections/wire-http.js';
import type { IbkrReplyMessage } from './confirm-policy.js';
import { ibkrStatus } from './status-map.js';

/**
 * IBKR Client Portal Web API wire format (BROKERS.md §8; IBKR Campus Web API docs and
 * interactivebrokers.github.io/cpwebapi). Paths are relative to the gateway's `/v1/api`. JSON both
 * ways, numbers as JSON numbers; errors are `{"error":"..."}`. Nothing here leaves the ibkr folder.
 */

/** One ticket of `POST /iserver/account/{acct}/orders` (`{"orders":[ticket]}`). */
export interface IbkrOrderTicket {
  acctId: string;
  conid: number;
  cOID: string;
  orderType: 'MKT' | 'LMT' | 'STP' | 'STOP_LIMIT';
  side: 'BUY' | 'SELL';
  quantity: number;
  tif: 'DAY' | 'GTC' | 'IOC';
  listingExchange?: string;
  price?: number;
  auxPrice?: number;
  outsideRTH?: boolean;
}

/** A placed (or confirmed) order: `[{"order_id","order_status","encrypt_message"}]`. */
export interface IbkrOrderAck {
  order_id: string;
  order_status?: string;
  local_order_id?: string;
  encrypt_message?: string;
}

/** `GET /iserver/account/order/status/{orderId}`. */
export interface IbkrOrderStatus {
  order_id: number | string;
  conid?: number;
  symbol?: string;
  side?: string;
  order_status: string;
  order_type?: string;
  total_size?: string | number;
  size?: string | number;
  cum_fill?: string | number;
  average_price?: string | number;
  limit_price?: string | number;
  listing_exchange?: string;
  order_ref?: string;
  tif?: string;
  order_time?: string;
}

/** A row of `GET /iserver/account/orders` `{"orders":[...],"snapshot":true}` and of the `sor` topic. */
export interface IbkrLiveOrder {
  acct?: string;
  orderId: number | string;
  conid?: number;
  ticker?: string;
  listingExchange?: string;
  status?: string;
  side?: string;
  orderType?: string;
  origOrderType?: string;
  totalSize?: number | string;
  filledQuantity?: number | string;
  remainingQuantity?: number | string;
  avgPrice?: number | string;
  price?: number | string;
  order_ref?: string;
  lastExecutionTime_r?: number;
  timeInForce?: string;
}

/** A row of `GET /iserver/account/trades` and of the `str` topic. */
export interface IbkrTrade {
  execution_id: string;
  symbol?: string;
  side?: string;
  size: number | string;
  price: number | string;
  commission?: number | string;
  order_ref?: string;
  order_id?: number | string;
  account?: string;
  accountCode?: string;
  conid?: number | string;
  trade_time_r?: number;
  trade_time?: string;
  listing_exchange?: string;
}

export interface IbkrAuthStatus {
  authenticated?: boolean;
  competing?: boolean;
  connected?: boolean;
  message?: string;
}

export interface IbkrPosition {
  acctId?: string;
  conid: number;
  ticker?: string;
  contractDesc?: string;
  listingExchange?: string;
  position: number | string;
  avgCost?: number | string;
  avgPrice?: number | string;
  currency?: string;
}

/** `GET /portfolio/{acct}/ledger`: per currency, plus `BASE`. */
export type IbkrLedger = Record<string, { cashbalance?: number; settledcash?: number; netliquidationvalue?: number; currency?: string }>;
/** `GET /portfolio/{acct}/summary`: each value `{amount, currency}`. */
export type IbkrSummary = Record<string, { amount?: number | null; currency?: string | null } | undefined>;

const TYPES: Record<BrokerOrderType, IbkrOrderTicket['orderType']> = { MARKET: 'MKT', LIMIT: 'LMT', STOP: 'STP', STOP_LIMIT: 'STOP_LIMIT' };
const FROM_TYPE: Record<string, BrokerOrderType> = {
  MKT: 'MARKET', MARKET: 'MARKET', LMT: 'LIMIT', LIMIT: 'LIMIT', STP: 'STOP', STOP: 'STOP', STOP_LIMIT: 'STOP_LIMIT', STP_LIMIT: 'STOP_LIMIT', 'STOP LIMIT': 'STOP_LIMIT', 'STP LMT': 'STOP_LIMIT',
};

/** IBKR listing exchange codes → ours. */
const EXCHANGES: Record<string, string> = { NASDAQ: 'NASDAQ', NYSE: 'NYSE', ARCA: 'NYSEARCA', NYSEARCA: 'NYSEARCA', AMEX: 'AMEX', BATS: 'BATS' };
export const toOurExchange = (code: string | undefined): string => EXCHANGES[(code ?? '').toUpperCase()] ?? (code ?? '');
/** Our exchange → IBKR's listing exchange. */
export const toIbExchange = (ours: string): string => (ours === 'NYSEARCA' ? 'ARCA' : ours);

/** Our order id as IB's `cOID`: itself when short and plain (a UUID), else a hash of it. */
export function coidOf(clientOrderId: string): string {
  return /^[A-Za-z0-9._-]{1,40}$/.test(clientOrderId) ? clientOrderId : brokerRef(clientOrderId, 32);
}

/** A JSON number or string as decimal text. */
export function num(v: unknown): string {
  if (v === null || v === undefined || v === '') return '0';
  const t = String(v).replace(/,/g, '').trim();
  return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t) ? fmt(dec(t)) : '0';
}

/** A decimal for IBKR's JSON (numbers there); only the exact decimal's own digits are sent. */
const jsonNum = (v: string): number => Number(fmt(dec(v)));

/** The ticket for POST /iserver/account/{acct}/orders. STP carries the stop as `price`; STOP_LIMIT the limit as `price`, the stop as `auxPrice`. */
export function orderTicket(req: BrokerOrderRequest, ibAccount: string, conid: number, cOID: string): IbkrOrderTicket {
  const qty = dec(req.quantity);
  if (!qty.gt(0)) throw new BrokerRejectedError('quantity must be positive');
  if (!qty.isInteger()) throw new BrokerRejectedError(`${req.instrument.symbol} trades in whole shares at IBKR here`);
  const t: IbkrOrderTicket = {
    acctId: ibAccount,
    conid,
    cOID,
    orderType: TYPES[req.type],
    side: req.side,
    quantity: jsonNum(req.quantity),
    tif: req.timeInForce,
    listingExchange: toIbExchange(req.instrument.exchange),
  };
  if (req.type === 'LIMIT' || req.type === 'STOP_LIMIT') {
    if (!req.limitPrice) throw new BrokerRejectedError('a limit price is required');
    t.price = jsonNum(req.limitPrice);
  }
  if (req.type === 'STOP') {
    if (!req.stopPrice) throw new BrokerRejectedError('a stop price is required');
    t.price = jsonNum(req.stopPrice);
  }
  if (req.type === 'STOP_LIMIT') {
    if (!req.stopPrice) throw new BrokerRejectedError('a stop price is required');
    t.auxPrice = jsonNum(req.stopPrice);
  }
  return t;
}

export function placeOrderRequest(ibAccount: string, ticket: IbkrOrderTicket): WireRequest {
  return { method: 'POST', path: `/iserver/account/${encodeURIComponent(ibAccount)}/orders`, json: { orders: [ticket] } };
}

export function replyRequest(replyId: string, confirmed: boolean): WireRequest {
  return { method: 'POST', path: `/iserver/reply/${encodeURIComponent(replyId)}`, json: { confirmed } };
}

/** Modify: the whole ticket again, as one object, at /iserver/account/{acct}/order/{orderId}. */
export function modifyOrderRequest(ibAccount: string, orderId: string, ticket: Omit<IbkrOrderTicket, 'cOID'>): WireRequest {
  return { method: 'POST', path: `/iserver/account/${encodeURIComponent(ibAccount)}/order/${encodeURIComponent(orderId)}`, json: ticket };
}

export function cancelOrderRequest(ibAccount: string, orderId: string): WireRequest {
  return { method: 'DELETE', path: `/iserver/account/${encodeURIComponent(ibAccount)}/order/${encodeURIComponent(orderId)}` };
}

/** A reply array is either acknowledgements or questions to confirm. */
export function isReplyMessage(x: unknown): x is IbkrReplyMessage {
  return typeof x === 'object' && x !== null && 'id' in x && ('message' in x || 'messageIds' in x) && !('order_id' in x);
}

const sideOf = (s: string | undefined): 'BUY' | 'SELL' => (/^s/i.test(s ?? '') ? 'SELL' : 'BUY');

export function statusToOrder(o: IbkrOrderStatus, clientOrderId: string, exchange: string, now: Date): BrokerOrder {
  const qty = num(o.total_size ?? o.size);
  const filled = num(o.cum_fill);
  const avg = num(o.average_price);
  const status = ibkrStatus(o.order_status, filled, qty);
  return {
    brokerOrderId: String(o.order_id),
    clientOrderId,
    symbol: o.symbol ?? '',
    exchange: exchange || toOurExchange(o.listing_exchange),
    side: sideOf(o.side),
    type: FROM_TYPE[(o.order_type ?? '').toUpperCase()] ?? 'LIMIT',
    quantity: qty,
    filledQuantity: filled,
    averagePrice: dec(avg).gt(0) ? avg : null,
    status,
    rejectReason: status === 'REJECTED' ? `IBKR: order ${o.order_status}` : null,
    updatedAt: now.toISOString(),
  };
}

export function liveToOrder(o: IbkrLiveOrder, clientOrderId: string, exchange: string, now: Date): BrokerOrder {
  const qty = num(o.totalSize ?? dec(num(o.filledQuantity)).plus(num(o.remainingQuantity)).toString());
  const filled = num(o.filledQuantity);
  const avg = num(o.avgPrice);
  const status = ibkrStatus(o.status ?? '', filled, qty);
  return {
    brokerOrderId: String(o.orderId),
    clientOrderId,
    symbol: o.ticker ?? '',
    exchange: exchange || toOurExchange(o.listingExchange),
    side: sideOf(o.side),
    type: FROM_TYPE[(o.origOrderType ?? o.orderType ?? '').toUpperCase()] ?? 'LIMIT',
    quantity: qty,
    filledQuantity: filled,
    averagePrice: dec(avg).gt(0) ? avg : null,
    status,
    rejectReason: status === 'REJECTED' ? `IBKR: order ${o.status}` : null,
    updatedAt: o.lastExecutionTime_r ? new Date(o.lastExecutionTime_r).toISOString() : now.toISOString(),
  };
}

/** An execution in our terms: IB's execution_id is the fill id, its commission the fee. */
export function tradeToFill(t: IbkrTrade, brokerOrderId: string, clientOrderId: string): BrokerFill {
  return {
    brokerFillId: t.execution_id,
    brokerOrderId,
    clientOrderId,
    quantity: num(t.size),
    price: num(t.price),
    fee: fmt(dec(num(t.commission)).abs()),
    executedAt: t.trade_time_r ? new Date(t.trade_time_r).toISOString() : new Date().toISOString(),
  };
}

/**
 * The body of a 2xx reply, or the typed error: 401 is a gateway without a brokerage session (the
 * adapter tries to re-authenticate first); 5xx transient; other 4xx a refusal with IB's `error` text.
 * 429 never arrives here (the gateway client puts itself in the penalty box).
 */
export function unwrap<T>(res: WireResponse, what: string): T {
  const body = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { error?: string; message?: string };
  const message = typeof body.error === 'string' ? body.error.slice(0, 300) : typeof body.message === 'string' ? body.message.slice(0, 300) : `HTTP ${res.status}`;
  if (res.status >= 200 && res.status < 300) {
    if (!Array.isArray(res.body) && typeof body.error === 'string') throw new IbkrRefusal(`IBKR ${what}: ${message}`, message, res.status);
    return res.body as T;
  }
  if (res.status === 401) throw new BrokerAuthError(`IBKR gateway has no brokerage session (${message}); log in to the gateway and reconnect`);
  if (res.status >= 500 && !/not found|invalid|reject/i.test(message)) throw new BrokerTransientError(`IBKR ${what}: ${message}`);
  throw new IbkrRefusal(`IBKR ${what}: ${message}`, message, res.status);
}

/** A refusal, keeping the HTTP status (an unknown order id is one). */
export class IbkrRefusal extends BrokerRejectedError {
  constructor(
    message: string,
    reason: string,
    readonly status: number,
  ) {
    super(message, reason);
  }
}
