import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { ConnectableBroker } from './connections/connector.js';
import type { BrokerSessions, OrderRefs } from './connections/sessions.js';
import { KiteAdapter } from './zerodha/index.js';
import { UpstoxAdapter } from './upstox/index.js';
import { FyersAdapter } from './fyers/index.js';
import { AngelOneAdapter } from './angelone/index.js';
import { GrowwAdapter } from './groww/index.js';
import { AlpacaAdapter } from './alpaca/index.js';
import { IbkrAdapter } from './ibkr/index.js';
import type { BrokerInstruments } from './connections/sessions.js';
import { TradeStationAdapter } from './tradestation/index.js';

export interface RealBrokerDeps {
  config: Pick<Config, 'brokers'>;
  sessions: BrokerSessions;
  refs: OrderRefs;
  limiter: RateLimiter;
  logger: Logger;
  /** Broker tokens from the imported instrument masters. */
  instruments: BrokerInstruments;
}

/**
 * Every real broker adapter, built from its configured endpoints. They make no call until a user has
 * connected an account. One line per broker: add yours at the end.
 */
export function realBrokers(deps: RealBrokerDeps): ConnectableBroker[] {
  const { config, sessions, refs, limiter, instruments } = deps;
  const ep = config.brokers.endpoints;
  const log = (name: string) => deps.logger.child({ broker: name });
  return [
    new KiteAdapter({ baseUrl: ep.zerodha.baseUrl, loginUrl: ep.zerodha.loginUrl!, wsUrl: ep.zerodha.wsUrl, product: ep.zerodha.product, sessions, refs, limiter, logger: log('zerodha') }),
    new UpstoxAdapter({ baseUrl: ep.upstox.baseUrl, orderUrl: ep.upstox.orderUrl ?? ep.upstox.baseUrl, loginUrl: ep.upstox.loginUrl!, wsUrl: ep.upstox.wsUrl, product: ep.upstox.product, sessions, refs, instruments, limiter, logger: log('upstox') }),
    new FyersAdapter({ baseUrl: ep.fyers.baseUrl, loginUrl: ep.fyers.loginUrl!, wsUrl: ep.fyers.wsUrl, product: ep.fyers.product, sessions, refs, instruments, limiter, logger: log('fyers') }),
    new AngelOneAdapter({ baseUrl: ep.angelone.baseUrl, wsUrl: ep.angelone.wsUrl, product: ep.angelone.product, sessions, refs, instruments, limiter, logger: log('angelone') }),
    new GrowwAdapter({ baseUrl: ep.groww.baseUrl, product: ep.groww.product, sessions, refs, limiter, logger: log('groww'), ordersPerSecond: config.brokers.growwOrdersPerSecond }),
    new AlpacaAdapter({ baseUrl: ep.alpaca.baseUrl, loginUrl: ep.alpaca.loginUrl, wsUrl: ep.alpaca.wsUrl, dataUrl: ep.alpaca.dataUrl ?? ep.alpaca.baseUrl, fractional: config.brokers.alpacaFractional ?? true, sessions, refs, limiter, logger: log('alpaca') }),
    new TradeStationAdapter({ baseUrl: ep.tradestation.baseUrl, loginUrl: ep.tradestation.loginUrl!, route: ep.tradestation.product, sessions, refs, limiter, logger: log('tradestation') }),
    new IbkrAdapter({ baseUrl: ep.ibkr.baseUrl, wsUrl: ep.ibkr.wsUrl ?? ep.ibkr.baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '') + '/ws', insecureTls: config.brokers.ibkr?.insecureTls, confirm: config.brokers.ibkr?.confirm, tickleMs: config.brokers.ibkr?.tickleMs, penaltyMs: config.brokers.ibkr?.penaltyMs, sessions, refs, instruments, limiter, logger: log('ibkr') }),
  ];
}
