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
import type { StrategyServices } from './strategies/index.js';
import type { AnalyticsServices } from './analytics/index.js';
import type { BasketServices } from './baskets/index.js';
import type { WatchlistService } from './watchlists/watchlist.service.js';
import type { AccessPolicy } from './people/access.policy.js';
import type { PeopleService } from './people/people.service.js';
import type { ProfileService } from './people/profile.service.js';
import type { AuditService } from './people/audit.service.js';
import type { ApiKeyService } from '../auth/api-keys.service.js';
import type { PrincipalResolver } from '../auth/principals.js';
import type { NotificationService } from '../notifications/notification.service.js';
import type { WebhookService } from '../notifications/webhook.service.js';
import type { ProposalService } from './people/proposal.service.js';
import type { ProposalDecisions } from './people/proposal.decisions.js';
import type { ConnectionService } from './brokers/connection.service.js';
import type { BrokerPushService } from './brokers/push.service.js';
import type { PooledAccountService } from './pooled/pooled-account.service.js';
import type { InstrumentImportService } from './brokers/instrument-import.service.js';

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
  analytics: AnalyticsServices;
  baskets: BasketServices;
  watchlists: WatchlistService;
  policy: AccessPolicy;
  people: PeopleService;
  profiles: ProfileService;
  audit: AuditService;
  apiKeys: ApiKeyService;
  principals: PrincipalResolver;
  notifications: NotificationService;
  webhooks: WebhookService;
  proposals: ProposalService;
  proposalDecisions: ProposalDecisions;
  brokerConnections: ConnectionService;
  brokerPush: BrokerPushService;
  pooled: PooledAccountService;
  instrumentImport: InstrumentImportService;
}

/** Everything resolvers may call, with the strategies capability (market data, strategies, screeners, backtests). */
export interface Services extends StrategyServices {}
