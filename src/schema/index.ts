import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { AuthResolver } from '../resolvers/auth.resolver.js';
import { UserResolver } from '../resolvers/user.resolver.js';
import { InstrumentFieldsResolver, InstrumentResolver } from '../resolvers/instrument.resolver.js';
import { PortfolioResolver, PositionResolver } from '../resolvers/portfolio.resolver.js';
import { FillResolver, OrderResolver } from '../resolvers/order.resolver.js';
import { SubscriptionResolver } from '../resolvers/subscription.resolver.js';
import { AnalyticsResolver, PerformanceFieldsResolver } from '../resolvers/analytics.resolver.js';
import { MarketResolver } from '../resolvers/market.resolver.js';
import { BacktestResolver, BacktestTradeResolver } from '../resolvers/backtest.resolver.js';
import { ScreenerMatchResolver, ScreenerResolver } from '../resolvers/screener.resolver.js';
import { SignalResolver, StrategyResolver, StrategyRunResolver } from '../resolvers/strategy.resolver.js';
import { BasketLineResolver, ConstituentResolver, SmallcaseResolver } from '../resolvers/smallcase.resolver.js';
import { InvestmentHoldingResolver, InvestmentResolver } from '../resolvers/investment.resolver.js';
import { BasketRunResolver, ExecutionLineResolver } from '../resolvers/basket-run.resolver.js';
import { WatchlistItemResolver, WatchlistResolver } from '../resolvers/watchlist.resolver.js';
import { PeopleResolver, PortfolioProfileResolver } from '../resolvers/people.resolver.js';
import { ApiKeyResolver } from '../resolvers/api-key.resolver.js';
import { AuditResolver } from '../resolvers/audit.resolver.js';
import { guardMutationScopes } from '../auth/scope.middleware.js';
import { ProposalResolver } from '../resolvers/proposal.resolver.js';
import { NotificationResolver, WebhookResolver } from '../resolvers/notification.resolver.js';
import { BrokerResolver } from '../resolvers/broker.resolver.js';
import { OrderPooledFieldsResolver, ParentOrderResolver, PooledAccountResolver, ReconciliationLineResolver } from '../resolvers/pooled.resolver.js';
import { dropPassThroughResolvers } from './plain-fields.js';

/** The one GraphQL schema, built from the type-graphql classes. */
export async function buildAppSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: [
      AuthResolver,
      UserResolver,
      InstrumentResolver,
      InstrumentFieldsResolver,
      PortfolioResolver,
      PositionResolver,
      OrderResolver,
      FillResolver,
      SubscriptionResolver,
      MarketResolver,
      StrategyResolver,
      StrategyRunResolver,
      SignalResolver,
      BacktestResolver,
      BacktestTradeResolver,
      ScreenerResolver,
      ScreenerMatchResolver,
      AnalyticsResolver,
      PerformanceFieldsResolver,
      SmallcaseResolver,
      ConstituentResolver,
      BasketLineResolver,
      InvestmentResolver,
      InvestmentHoldingResolver,
      BasketRunResolver,
      ExecutionLineResolver,
      WatchlistResolver,
      WatchlistItemResolver,
      PeopleResolver,
      PortfolioProfileResolver,
      ApiKeyResolver,
      AuditResolver,
      ProposalResolver,
      NotificationResolver,
      WebhookResolver,
      BrokerResolver,
      PooledAccountResolver,
      ParentOrderResolver,
      ReconciliationLineResolver,
      OrderPooledFieldsResolver,
    ],
    validate: false,
    // Every subscription supplies its own `subscribe` (outbox replay + our PubSub port); type-graphql
    // still insists on a pubSub object, so give it one that says so if anything ever reaches it.
    pubSub: {
      publish: () => {
        throw new Error('use the PubSub port (src/events), not type-graphql pubSub');
      },
      subscribe: () => {
        throw new Error('use the PubSub port (src/events), not type-graphql pubSub');
      },
    },
    emitSchemaFile: false,
  });
  // The READ-scope guard on root Mutation fields only (not a global middleware: see scope.middleware.ts).
  return dropPassThroughResolvers(guardMutationScopes(schema));
}
