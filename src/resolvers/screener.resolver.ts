import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { CreateScreenerInput, Screener, ScreenerMatch, ScreenerRun } from '../schema/strategy.type.js';
import { ImportResult } from '../schema/import.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { Watchlist } from '../schema/watchlist.type.js';
import { requireUser, type GqlContext } from './context.js';
import type { ScreenerRow } from '../services/strategies/screener.service.js';
import type { Match } from '../services/strategies/screener.logic.js';
import { instrumentOf } from './loaders.js';

@Resolver(() => Screener)
export class ScreenerResolver {
  @Query(() => [Screener], { description: 'Your screeners.' })
  screeners(@Ctx() ctx: GqlContext) {
    return ctx.services.screeners.list(requireUser(ctx));
  }

  @Mutation(() => Screener, { description: 'Create a screener; its matches go to its output watchlist (created when not given).' })
  createScreener(@Arg('input', () => CreateScreenerInput, { description: 'The definition.' }) input: CreateScreenerInput, @Ctx() ctx: GqlContext) {
    return ctx.services.screeners.create(requireUser(ctx), input);
  }

  @Mutation(() => ScreenerRun, { description: "Run a screener now; its matches replace its output watchlist's contents." })
  runScreener(@Arg('id', () => ID, { description: 'Screener id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.screeners.run(requireUser(ctx), id);
  }

  @Mutation(() => ImportResult, { description: 'Administrators: import an earnings calendar: symbol,exchange,date,epsEstimate,epsActual (empty EPS = not reported yet). A report already stored is replaced.' })
  importEarnings(@Arg('csv', () => String, { description: 'The file, header first.' }) csv: string, @Ctx() ctx: GqlContext) {
    return ctx.services.screeners.importEarnings(requireUser(ctx), csv);
  }

  @FieldResolver(() => Watchlist, { nullable: true, description: 'Where its matches go.' })
  outputWatchlist(@Root() s: ScreenerRow, @Ctx() ctx: GqlContext) {
    return s.outputWatchlistId ? ctx.services.watchlists.get(requireUser(ctx), s.outputWatchlistId).catch(() => null) : null;
  }

  @FieldResolver(() => ScreenerRun, { nullable: true, description: 'Its latest run.' })
  lastRun(@Root() s: ScreenerRow, @Ctx() ctx: GqlContext) {
    return ctx.services.screeners.lastRun(s.id);
  }
}

@Resolver(() => ScreenerMatch)
export class ScreenerMatchResolver {
  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() m: Match, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, m.instrumentId);
  }
}
