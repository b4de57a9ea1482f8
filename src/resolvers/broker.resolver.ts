import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { BrokerConnection, BrokerConnectionStart, BrokerInfo } from '../schema/broker.type.js';
import { JSONScalar } from '../schema/scalars.js';
import { InstrumentImportResult } from '../schema/import.type.js';
import { requireUser, type GqlContext } from './context.js';

@Resolver(() => BrokerConnection)
export class BrokerResolver {
  @Query(() => [BrokerInfo], { description: 'Every broker adapter, with how to connect it.' })
  brokers(@Ctx() ctx: GqlContext) {
    requireUser(ctx);
    return ctx.services.brokerConnections.brokers();
  }

  @Query(() => [BrokerConnection], { description: 'Your broker connections (never their credentials).' })
  brokerConnections(@Ctx() ctx: GqlContext) {
    return ctx.services.brokerConnections.list(requireUser(ctx));
  }

  @Mutation(() => BrokerConnectionStart, {
    description: 'Start connecting a broker with your app credentials; redirect flows return the URL to log in at. Pass connectionId to reconnect an expired connection.',
  })
  startBrokerConnection(
    @Arg('broker', () => String, { description: "Broker name, e.g. 'zerodha'." }) broker: string,
    @Arg('credentials', () => JSONScalar, { description: 'App credentials, per broker (API.md): zerodha { apiKey, apiSecret }...' }) credentials: unknown,
    @Arg('label', () => String, { nullable: true, description: 'Your label for the connection.' }) label: string | null,
    @Arg('connectionId', () => ID, { nullable: true, description: 'Reconnect this existing connection instead of creating one.' }) connectionId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.brokerConnections.start(requireUser(ctx), { broker, credentials, label, connectionId });
  }

  @Mutation(() => BrokerConnection, { description: 'Finish a login that needs more from you (Angel One PIN + TOTP, or a pasted request token / code).' })
  completeBrokerConnection(
    @Arg('connectionId', () => ID, { description: 'The PENDING connection.' }) connectionId: string,
    @Arg('credentials', () => JSONScalar, { description: 'e.g. { pin, totp } for Angel One.' }) credentials: unknown,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.brokerConnections.complete(requireUser(ctx), connectionId, credentials);
  }

  @Mutation(() => BrokerConnection, { description: 'Disconnect: the stored credentials are erased and the connection is REVOKED.' })
  disconnectBroker(@Arg('id', () => ID, { description: 'Connection id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.brokerConnections.disconnect(requireUser(ctx), id);
  }

  @Mutation(() => InstrumentImportResult, {
    description:
      "Import a broker's instrument master (administrators only): broker tokens mapped to our instruments by exchange + symbol and ISIN, with lot and tick sizes. The same as `npm start -- import-instruments <broker> <file>`.",
  })
  importInstruments(
    @Arg('broker', () => String, { description: "The broker whose master it is: 'zerodha' (Kite CSV), 'upstox' (JSON), 'fyers' (symbol master CSV, no header), 'angelone' (scrip master JSON) or 'groww' (instrument CSV)." }) broker: string,
    @Arg('content', () => String, { description: 'The file as downloaded from the broker, as text (not gzipped).' }) content: string,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.instrumentImport.import(requireUser(ctx), broker, content);
  }
}
