import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { AuthResolver } from '../resolvers/auth.resolver.js';
import { UserResolver } from '../resolvers/user.resolver.js';
import { InstrumentFieldsResolver, InstrumentResolver } from '../resolvers/instrument.resolver.js';
import { PortfolioResolver, PositionResolver } from '../resolvers/portfolio.resolver.js';
import { FillResolver, OrderResolver } from '../resolvers/order.resolver.js';
import { SubscriptionResolver } from '../resolvers/subscription.resolver.js';
import { BrokerResolver } from '../resolvers/broker.resolver.js';

/** The one GraphQL schema, built from the type-graphql classes. */
export async function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
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
      BrokerResolver,
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
}
