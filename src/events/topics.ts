import type { Quote } from '../market/quote.js';

/**
 * Typed topic map: publishing the wrong payload for a topic is a compile error.
 * Payloads are JSON-safe: decimals as strings, dates as ISO strings.
 */

/** A portfolio event as stored in the outbox and pushed to subscribers. */
export interface PortfolioEventMessage {
  portfolioId: string;
  sequence: number;
  type: PortfolioEventType;
  payload: Record<string, unknown>;
  createdAt: string;
}

export type PortfolioEventType = 'ORDER_UPDATED' | 'FILL_RECEIVED' | 'BALANCE_CHANGED' | 'POSITION_CHANGED' | 'BASKET_RUN_UPDATED';

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
