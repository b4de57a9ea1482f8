import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { Instrument, Quote } from '../schema/instrument.type.js';
import type { GqlContext } from './context.js';
import { requireUser } from './context.js';
import { pageSize } from './pagination.js';

@Resolver()
export class InstrumentResolver {
  @Query(() => [Instrument], { description: 'Instruments whose symbol starts with, or name contains, `search`.' })
  instruments(
    @Arg('search', () => String, { nullable: true, description: 'Symbol prefix or part of the name; all instruments when omitted.' }) search: string | null,
    @Arg('first', () => Int, { nullable: true, description: 'How many (default 50, at most MAX_PAGE_SIZE).' }) first: number | null,
    @Ctx() ctx: GqlContext,
  ) {
    requireUser(ctx);
    return ctx.services.instruments.search(search, pageSize(first, ctx, 50));
  }

  @Query(() => Quote, { description: 'The latest quote for a symbol. Pass exchange when a symbol is listed twice.' })
  quote(
    @Arg('symbol', () => String, { description: 'Ticker symbol ("RELIANCE", "AAPL").' }) symbol: string,
    @Arg('exchange', () => String, { nullable: true, description: 'Exchange code (NSE, NASDAQ...) when the symbol is listed on several.' }) exchange: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    requireUser(ctx);
    return ctx.services.instruments.quote(symbol, exchange);
  }
}

/** Fields of Instrument (a separate class: `quote` is also a root query name above). */
@Resolver(() => Instrument)
export class InstrumentFieldsResolver {
  @FieldResolver(() => Quote, { nullable: true, description: 'The latest quote, if the market has one.' })
  quote(@Root() instrument: Instrument, @Ctx() ctx: GqlContext) {
    return ctx.services.instruments.quoteOf(instrument);
  }
}
