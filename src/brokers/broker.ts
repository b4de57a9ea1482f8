/**
 * The BrokerAdapter contract. Every broker (paper included) implements it and passes the one
 * conformance suite in test/brokers/conformance.ts. Vendor shapes never leave a broker's folder.
 * Prices and quantities cross this boundary as decimal strings.
 */

export type BrokerOrderSide = 'BUY' | 'SELL';
export type BrokerOrderType = 'MARKET' | 'LIMIT' | 'STOP' | 'STOP_LIMIT';
export type BrokerTimeInForce = 'DAY' | 'GTC' | 'IOC';
export type BrokerOrderStatus = 'OPEN' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';

export interface BrokerInstrument {
  symbol: string;
  exchange: string;
  currency: string;
  tickSize: string;
  lotSize: string;
}

export interface BrokerOrderRequest {
  /** Our order id, sent as the broker's client order id / tag, so an order can be found again after a crash. */
  clientOrderId: string;
  account: string;
  instrument: BrokerInstrument;
  side: BrokerOrderSide;
  type: BrokerOrderType;
  timeInForce: BrokerTimeInForce;
  quantity: string;
  limitPrice?: string | null;
  stopPrice?: string | null;
  /**
   * Market protection (Kite's `market_protection`, as an absolute price): a MARKET order, or a STOP order
   * once triggered, never fills worse than this (above it for a buy, below for a sell); what cannot fill
   * within it is canceled. The platform sends the price its cash hold was sized from.
   */
  protectionPrice?: string | null;
}

export interface BrokerOrder {
  brokerOrderId: string;
  clientOrderId: string;
  symbol: string;
  exchange: string;
  side: BrokerOrderSide;
  type: BrokerOrderType;
  quantity: string;
  filledQuantity: string;
  averagePrice: string | null;
  status: BrokerOrderStatus;
  rejectReason?: string | null;
  updatedAt: string;
}

export interface BrokerFill {
  /** Unique per order at the broker: replays of the same fill carry the same id. */
  brokerFillId: string;
  brokerOrderId: string;
  clientOrderId: string;
  quantity: string;
  price: string;
  fee: string;
  executedAt: string;
}

export interface BrokerPosition {
  symbol: string;
  exchange: string;
  quantity: string;
  averagePrice: string;
}

export interface BrokerFunds {
  currency: string;
  cash: string;
  available: string;
}

export interface BrokerQuote {
  symbol: string;
  exchange: string;
  bid: string | null;
  ask: string | null;
  last: string;
  timestamp: string;
}

/** What a broker pushes: executions and order status changes (e.g. expiry, cancel). */
export type BrokerEvent = { kind: 'fill'; account: string; fill: BrokerFill } | { kind: 'order'; account: string; order: BrokerOrder };

export interface BrokerAdapter {
  /** Registry name, e.g. 'paper', 'zerodha'. */
  readonly name: string;
  /** Requests allowed per window per account, enforced by the shared rate limiter. */
  readonly rateLimit: { limit: number; windowMs: number };
  /**
   * Optional: true when the broker never throttles (the in-house paper exchange), so no permit is asked
   * of the shared rate limiter before a call: one Redis script and round trip less per order.
   */
  readonly unthrottled?: boolean;

  placeOrder(req: BrokerOrderRequest): Promise<BrokerOrder>;
  cancelOrder(account: string, brokerOrderId: string): Promise<BrokerOrder>;
  /**
   * Optional capability: reduce an open order's total quantity to `quantity` (a decimal string, a whole
   * number of lots, below the order's quantity and above what it has filled), keeping its broker order
   * id, price and type. Idempotent: an order already at `quantity` is returned as it is, so a retried
   * reduce is harmless. Throws BrokerRejectedError when the order is no longer open or has filled
   * `quantity` or more (the broker's word is final), BrokerTransientError when the outcome is unknown.
   * Adapters whose broker modifies in place implement it (paper, Zerodha, Upstox, Fyers, Angel One, IBKR);
   * a broker whose API replaces the order under a new id (Alpaca, TradeStation) omits it, as does Groww
   * for now: callers treat a missing capability as a refusal (a pooled parent is then canceled whole or
   * kept as sent, never reduced).
   */
  reduceOrder?(account: string, brokerOrderId: string, quantity: string): Promise<BrokerOrder>;
  getOrder(account: string, ref: { brokerOrderId: string } | { clientOrderId: string }): Promise<BrokerOrder | null>;
  listOrders(account: string): Promise<BrokerOrder[]>;
  /** Executions of one order, for reconciliation (fills missed while no one listened). */
  getFills(account: string, brokerOrderId: string): Promise<BrokerFill[]>;
  getPositions(account: string): Promise<BrokerPosition[]>;
  /**
   * Cash of the account. `currency` picks one balance of a multi-currency account (the paper exchange
   * keeps one per currency); adapters of single-currency accounts may ignore it.
   */
  getFunds(account: string, currency?: string): Promise<BrokerFunds>;
  getQuotes(instruments: { symbol: string; exchange: string }[]): Promise<BrokerQuote[]>;
  /**
   * An upper bound on the fees an order of this notional can be charged, however it fills (decimal
   * string). The platform holds it with a buy's notional, so fees never overdraw available cash.
   * Omit for a commission-free broker.
   */
  feeBound?(currency: string, notional: string): string;
  /**
   * A simulated exchange has no clock of its own: the platform tells it when a session closed, and it
   * expires its open DAY orders of `exchange` placed before `placedBefore` (emitting order events). Real
   * brokers expire DAY orders themselves and omit this; the platform learns of it by syncing.
   */
  expireDayOrders?(scope: { exchange: string; placedBefore: Date }): Promise<BrokerOrder[]>;
  /** Subscribe to fills and order updates for every account this process serves. */
  onEvent(listener: (event: BrokerEvent) => void): () => void;
  close(): Promise<void>;
}

/** The broker refused the order (bad price, no margin, market closed...). Final: never retried. */
export class BrokerRejectedError extends Error {
  constructor(
    message: string,
    readonly reason: string = message,
  ) {
    super(message);
    this.name = 'BrokerRejectedError';
  }
}

/** A network failure, timeout or 5xx: retried with backoff. The broker may or may not have the order. */
export class BrokerTransientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerTransientError';
  }
}

/** The broker said slow down: retried after `retryAfterMs`. */
export class BrokerRateLimitedError extends BrokerTransientError {
  constructor(readonly retryAfterMs: number) {
    super(`rate limited, retry after ${retryAfterMs} ms`);
    this.name = 'BrokerRateLimitedError';
  }
}

/** Credentials are missing, expired or revoked: the user must reconnect. Not retried. */
export class BrokerAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerAuthError';
  }
}

/**
 * What a failed answer from a broker's login or token endpoint means. A 5xx is the broker being unavailable
 * (BrokerTransientError): the same request may succeed later, so a connection is neither failed nor
 * expired for it. Anything else is a refusal (BrokerAuthError). A request that got no answer at all is
 * already a BrokerTransientError (connections/wire-http.ts).
 */
export function loginFailure(status: number, message: string): BrokerAuthError | BrokerTransientError {
  return status >= 500 ? new BrokerTransientError(`${message} (the broker answered HTTP ${status})`) : new BrokerAuthError(message);
}

/** The broker has no such order. */
export class BrokerOrderNotFoundError extends Error {
  constructor(ref: string) {
    super(`order ${ref} not found at broker`);
    this.name = 'BrokerOrderNotFoundError';
  }
}
