import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { ConnectableBroker } from './connections/connector.js';
import type { BrokerSessions, OrderRefs } from './connections/sessions.js';
import { KiteAdapter } from './zerodha/index.js';

export interface RealBrokerDeps {
  config: Pick<Config, 'brokers'>;
  sessions: BrokerSessions;
  refs: OrderRefs;
  limiter: RateLimiter;
  logger: Logger;
}

/**
 * Every real broker adapter, built from its configured endpoints. They make no call until a user has
 * connected an account. One line per broker: add yours at the end.
 */
export function realBrokers(deps: RealBrokerDeps): ConnectableBroker[] {
  const { config, sessions, refs, limiter } = deps;
  const ep = config.brokers.endpoints;
  const log = (name: string) => deps.logger.child({ broker: name });
  return [
    new KiteAdapter({ baseUrl: ep.zerodha.baseUrl, loginUrl: ep.zerodha.loginUrl!, product: ep.zerodha.product, sessions, refs, limiter, logger: log('zerodha') }),
  ];
}
