import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Watchlist, WatchlistItem } from '../schema/watchlist.type.js';
import { Instrument, Quote } from '../schema/instrument.type.js';
import { requireUser, type GqlContext } from './context.js';
import { instrumentOf } from './loaders.js';
import type { QuoteMessage } from '../events/topics.js';
import { dayChange, type WatchlistRow } from '../services/watchlists/watchlist.service.js';
import type { InstrumentRow } from '../services/instrument.service.js';

/** Watchlists: your named lists of instruments, with quotes and live updates. */
@Resolver(() => Watchlist)
export class WatchlistResolver {
  @Query(() => [Watchlist], { description: 'Your watchlists, oldest first.' })
  watchlists(@Ctx() ctx: GqlContext) {
    return ctx.services.watchlists.list(requireUser(ctx));
  }

  @Query(() => Watchlist, { description: 'One of your watchlists.' })
  watchlist(@Arg('id', () => ID, { description: 'Watchlist id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.watchlists.get(requireUser(ctx), id);
  }

  @Mutation(() => Watchlist, { description: 'Create a watchlist, optionally with symbols ("AAPL" or "NSE:RELIANCE").' })
  createWatchlist(
    @Arg('name', () => String, { description: 'Name, unique among yours.' }) name: string,
    @Arg('symbols', () => [String], { nullable: true, description: 'Up to 200 symbols.' }) symbols: string[] | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.watchlists.create(requireUser(ctx), name, symbols);
  }

  @Mutation(() => Watchlist, { description: 'Rename a watchlist.' })
  renameWatchlist(@Arg('id', () => ID, { description: 'Watchlist id.' }) id: string, @Arg('name', () => String, { description: 'New name.' }) name: string, @Ctx() ctx: GqlContext) {
    return ctx.services.watchlists.rename(requireUser(ctx), id, name);
  }

  @Mutation(() => Boolean, { description: 'Delete a watchlist.' })
  deleteWatchlist(@Arg('id', () => ID, { description: 'Watchlist id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.watchlists.delete(requireUser(ctx), id);
  }

  @Mutation(() => Watchlist, { description: 'Add an instrument (or change its note). A full list (200) is BAD_USER_INPUT / WATCHLIST_FULL.' })
  addToWatchlist(
    @Arg('watchlistId', () => ID, { description: 'Watchlist id.' }) watchlistId: string,
    @Arg('symbol', () => String, { description: 'Symbol.' }) symbol: string,
    @Arg('exchange', () => String, { nullable: true, description: 'Exchange, when ambiguous.' }) exchange: string | null,
    @Arg('note', () => String, { nullable: true, description: 'A note.' }) note: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.watchlists.add(requireUser(ctx), watchlistId, symbol, exchange, note);
  }

  @Mutation(() => Watchlist, { description: 'Remove an instrument.' })
  removeFromWatchlist(
    @Arg('watchlistId', () => ID, { description: 'Watchlist id.' }) watchlistId: string,
    @Arg('symbol', () => String, { description: 'Symbol.' }) symbol: string,
    @Arg('exchange', () => String, { nullable: true, description: 'Exchange, when ambiguous.' }) exchange: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.watchlists.remove(requireUser(ctx), watchlistId, symbol, exchange);
  }

  @FieldResolver(() => [WatchlistItem], { description: 'Its instruments, in the order added, with quotes and the day’s change.' })
  async items(@Root() w: WatchlistRow, @Ctx() ctx: GqlContext): Promise<(Omit<WatchlistItem, 'instrument'> & { instrument: InstrumentRow })[]> {
    const rows = await ctx.services.watchlists.items(w.id);
    const opens = await ctx.services.watchlists.dayOpens(rows.map((r) => r.instrumentId));
    return Promise.all(
      rows.map(async (r) => {
        const inst = await instrumentOf(ctx, r.instrumentId);
        const q = ctx.services.instruments.quoteOf(inst);
        return {
          instrumentId: r.instrumentId,
          instrument: inst,
          note: r.note,
          addedAt: r.addedAt,
          quote: q,
          ...dayChange(q?.last, opens.get(r.instrumentId)),
        };
      }),
    );
  }

  @Subscription(() => Quote, {
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) =>
      context.services.watchlists.quotes(requireUser(context), (args as { watchlistId: string }).watchlistId),
    description: 'Every quote of the watchlist’s instruments: the latest at once, then each tick (from the one quote stream).',
  })
  watchlistQuotes(@Root() q: QuoteMessage, @Arg('watchlistId', () => ID, { description: 'Watchlist id.' }) _watchlistId: string): QuoteMessage {
    return q;
  }
}

@Resolver(() => WatchlistItem)
export class WatchlistItemResolver {
  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() i: { instrumentId: string }, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, i.instrumentId);
  }
}
