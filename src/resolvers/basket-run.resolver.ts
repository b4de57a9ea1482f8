import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { BasketRun, BasketRunEvent, ExecutionLine, SmallcaseInvestment } from '../schema/basket.type.js';
import { Order } from '../schema/order.type.js';
import { Portfolio } from '../schema/portfolio.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { requireUser, type GqlContext } from './context.js';
import { instrumentOf } from './loaders.js';
import type { PortfolioEventMessage } from '../events/topics.js';
import { runFromSnapshot, type BasketRunRow } from '../services/baskets/basket-run.service.js';

/** Basket runs: read one, its orders and summary; follow them live. */
@Resolver(() => BasketRun)
export class BasketRunResolver {
  @Query(() => BasketRun, { description: 'One of your basket runs.' })
  basketRun(@Arg('id', () => ID, { description: 'Run id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.runs.get(requireUser(ctx), id);
  }

  @FieldResolver(() => Portfolio, { description: 'The portfolio it trades in.' })
  portfolio(@Root() r: BasketRunRow, @Ctx() ctx: GqlContext) {
    return ctx.services.portfolios.get(requireUser(ctx), r.portfolioId);
  }

  @FieldResolver(() => SmallcaseInvestment, { nullable: true, description: 'The investment it moves (none for target portfolios).' })
  investment(@Root() r: BasketRunRow, @Ctx() ctx: GqlContext) {
    return r.investmentId ? ctx.services.baskets.investments.get(requireUser(ctx), r.investmentId) : null;
  }

  @FieldResolver(() => [Order], { description: 'Its orders, sells first.' })
  orders(@Root() r: BasketRunRow, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.runs.orderRowsOf(r.id);
  }

  @FieldResolver(() => [ExecutionLine], { description: 'One line per order (and per line refused before it became one): filled, partial, rejected with reason. Final once the run has ended.' })
  summary(@Root() r: BasketRunRow, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.runs.summaryOf(r);
  }

  @Subscription(() => BasketRunEvent, {
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) =>
      context.services.events.stream(requireUser(context), {
        portfolioId: (args as { portfolioId?: string | null }).portfolioId,
        afterSequence: (args as { afterSequence?: number | null }).afterSequence,
        types: ['BASKET_RUN_UPDATED'],
      }),
    description: 'A basket run started, moved to its buy phase, or ended (with its summary). Pass afterSequence to replay what you missed.',
  })
  basketRunUpdated(
    @Root() m: PortfolioEventMessage<'BASKET_RUN_UPDATED'>,
    @Arg('portfolioId', () => ID, { nullable: true, description: 'One portfolio; all of yours if omitted.' }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: 'Replay events after this portfolio sequence number first, then go live.' }) _afterSequence: number | null,
  ): Omit<BasketRunEvent, 'run'> & { run: BasketRunRow } {
    return { sequence: m.sequence, run: runFromSnapshot(m.payload.run) };
  }
}

@Resolver(() => ExecutionLine)
export class ExecutionLineResolver {
  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() l: { instrumentId: string }, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, l.instrumentId);
  }
}
