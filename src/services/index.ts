import type { Config } from '../config.js';
import type { AccessTokens } from '../auth/tokens.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { AuthService } from './auth.service.js';
import type { UserService } from './user.service.js';
import type { InstrumentService } from './instrument.service.js';
import type { PortfolioService } from './portfolio.service.js';
import type { OrderService } from './orders/order.service.js';
import type { EventService } from './event.service.js';
import type { PubSub } from '../events/pubsub.js';
import type { ConnectionService } from './brokers/connection.service.js';
import type { BrokerPushService } from './brokers/push.service.js';

/** Everything resolvers may call. Built once per process in app.ts from the configured ports. */
export interface Services {
  auth: AuthService;
  users: UserService;
  instruments: InstrumentService;
  portfolios: PortfolioService;
  orders: OrderService;
  events: EventService;
  accessTokens: AccessTokens;
  rateLimiter: RateLimiter;
  pubsub: PubSub;
  limits: Config['limits'];
  brokerConnections: ConnectionService;
  brokerPush: BrokerPushService;
}
