import type { Quote } from '../market/quote.js';
import type { FillSnapshot, OrderSnapshot } from '../services/orders/order.snapshot.js';
import type { BasketRunSnapshot } from '../services/baskets/run-event.js';

/**
 * Typed topic map: publishing the wrong payload for a topic is a compile error.
 * Payloads are JSON-safe: decimals as strings, dates as ISO strings.
 */

/** A position as it travels in POSITION_CHANGED (decimals as strings). */
export interface PositionSnapshot {
  portfolioId: string;
  instrumentId: string;
  quantity: string;
  averageCost: string;
  realizedPnl: string;
  updatedAt: string;
}

/** Each portfolio event type's payload: writing the wrong payload for a type is a compile error. */
export interface PortfolioEventPayloads {
  ORDER_UPDATED: { order: OrderSnapshot };
  FILL_RECEIVED: { fill: FillSnapshot; order: OrderSnapshot };
  /** `reason`: what moved the cash (`FILL`, `ORDER_HOLD`, `ORDER_CANCELED`, a ledger kind such as `DEPOSIT`, ...). */
  BALANCE_CHANGED: { cash: string; availableCash: string; reason: string };
  POSITION_CHANGED: { position: PositionSnapshot };
  BASKET_RUN_UPDATED: { run: BasketRunSnapshot };
}

export type PortfolioEventType = keyof PortfolioEventPayloads;

/** One portfolio event before it is numbered: its type and that type's payload. */
export type PortfolioEvent<T extends PortfolioEventType = PortfolioEventType> = {
  [K in T]: { type: K; payload: PortfolioEventPayloads[K] };
}[T];

/** The order an event carries (ORDER_UPDATED and FILL_RECEIVED), if any. */
export function orderIn(e: PortfolioEvent): OrderSnapshot | undefined {
  return 'order' in e.payload ? e.payload.order : undefined;
}

/** A portfolio event as stored in the outbox and pushed to subscribers (narrow it by `type`). */
export type PortfolioEventMessage<T extends PortfolioEventType = PortfolioEventType> = PortfolioEvent<T> & {
  portfolioId: string;
  sequence: number;
  createdAt: string;
};

/** A quote as it travels on the 'quotes' topic: the same shape as the market's Quote. */
export type QuoteMessage = Quote;

export interface TopicMap {
  /** key: portfolio id */
  'portfolio-events': PortfolioEventMessage;
  /** key: `${exchange}:${symbol}` */
  quotes: QuoteMessage;
  /** key: '*' — nudges the outbox relay that new rows were committed. */
  'outbox-committed': { count: number };
  /** key: '*' — a login's refresh-token family was revoked (logout, reuse): its sockets close with 4403. */
  'session-revoked': { sessionId: string };
  /** key: the strategy owner's user id. */
  'strategy-signals': StrategySignalMessage;
  /** key: backtest id. */
  'backtest-progress': { backtestId: string };
  /** key: user id — an in-app notification for that user. */
  notifications: NotificationMessage;
  /** key: user id (the advisor and the client each get one) — a proposal changed. */
  proposals: { proposalId: string; status: string };
  /** key: '*' — a user's role changed: every process forgets the role it kept for them (auth/principals.ts). */
  'user-role-changed': { userId: string };
  /**
   * key: '*' — who may read these users' things, or what these users may read, changed (a role, an
   * owner's advisor): live portfolio streams that involve them re-check access (event.service.ts).
   */
  'access-changed': { userIds: string[] };
}

/** A signal was recorded (or changed status): subscribers load it by id. */
export interface StrategySignalMessage {
  signalId: string;
  strategyId: string;
}

/** An in-app notification as pushed to its user. */
export interface NotificationMessage {
  id: string;
  kind: string;
  title: string;
  body: string;
  data: Record<string, unknown> | null;
  createdAt: string;
  readAt: string | null;
}
