import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { CreateStrategyInput, Signal, Strategy, StrategyRun, StrategyRunConnection } from '../schema/strategy.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { Order } from '../schema/order.type.js';
import { Portfolio } from '../schema/portfolio.type.js';
import { DateTimeScalar, JSONScalar } from '../schema/scalars.js';
import { requireUser, type GqlContext } from './context.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { pageInfo, pageSize } from './pagination.js';
import type { StrategyRow, RunRow } from '../services/strategies/strategy-runner.js';
import type { SignalRow } from '../services/strategies/strategy.service.js';
import { instrumentOf } from './loaders.js';

@Resolver(() => Strategy)
export class StrategyResolver {
  @Query(() => [Strategy], { description: 'Your strategies, newest first.' })
  strategies(@Ctx() ctx: GqlContext) {
    return ctx.services.strategies.list(requireUser(ctx));
  }

  @Query(() => Strategy, { description: 'One of your strategies.' })
  strategy(@Arg('id', () => ID, { description: 'Strategy id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.get(requireUser(ctx), id);
  }

  @Mutation(() => Strategy, { description: 'Create a strategy. A bad rule is BAD_USER_INPUT on rules.entry / rules.exit with line and column.' })
  createStrategy(@Arg('input', () => CreateStrategyInput, { description: 'The definition.' }) input: CreateStrategyInput, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.create(requireUser(ctx), input);
  }

  @Mutation(() => Strategy, { description: 'Replace a strategy definition (its runs, signals and positions stay).' })
  updateStrategy(
    @Arg('id', () => ID, { description: 'Strategy id.' }) id: string,
    @Arg('input', () => CreateStrategyInput, { description: 'The new definition.' }) input: CreateStrategyInput,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.strategies.update(requireUser(ctx), id, input);
  }

  @Mutation(() => Strategy, { description: 'Stop scheduled runs.' })
  pauseStrategy(@Arg('id', () => ID, { description: 'Strategy id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.setStatus(requireUser(ctx), id, 'PAUSED');
  }

  @Mutation(() => Strategy, { description: 'Resume scheduled runs.' })
  resumeStrategy(@Arg('id', () => ID, { description: 'Strategy id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.setStatus(requireUser(ctx), id, 'ACTIVE');
  }

  @Mutation(() => Boolean, { description: 'Delete a strategy, its schedule, runs and signals (orders stay).' })
  deleteStrategy(@Arg('id', () => ID, { description: 'Strategy id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.delete(requireUser(ctx), id);
  }

  @Mutation(() => StrategyRun, { description: 'Evaluate the strategy now on the closed bars it has not seen.' })
  runStrategyNow(@Arg('id', () => ID, { description: 'Strategy id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.runNow(requireUser(ctx), id);
  }

  @Mutation(() => Signal, { description: 'Approve a signal of an APPROVAL strategy: its order is placed.' })
  approveSignal(@Arg('id', () => ID, { description: 'Signal id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.decide(requireUser(ctx), id, true);
  }

  @Mutation(() => Signal, { description: 'Reject a signal of an APPROVAL strategy.' })
  rejectSignal(@Arg('id', () => ID, { description: 'Signal id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.decide(requireUser(ctx), id, false);
  }

  @FieldResolver(() => Portfolio, { nullable: true, description: 'Where it trades.' })
  portfolio(@Root() s: StrategyRow, @Ctx() ctx: GqlContext) {
    return s.portfolioId ? ctx.services.portfolios.get(requireUser(ctx), s.portfolioId) : null;
  }

  @FieldResolver(() => StrategyRunConnection, { description: 'Run history, newest first.' })
  async runs(
    @Root() s: StrategyRow,
    @Arg('first', () => Int, { nullable: true, description: 'Page size.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor.' }) after: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    const page = await ctx.services.strategies.runs(requireUser(ctx), s.id, pageSize(first, ctx, 20), after ? decodeCursor(after) : undefined);
    const edges = page.rows.map((r) => ({ cursor: encodeCursor({ createdAt: r.startedAt, id: r.id }), node: r }));
    return { edges, pageInfo: pageInfo(edges, page.hasNextPage, after) };
  }

  @FieldResolver(() => JSONScalar, { nullable: true, description: 'Built-in parameters as given.' })
  parameters(@Root() s: StrategyRow) {
    return s.params;
  }

  @Subscription(() => Signal, {
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) =>
      context.services.strategySignals.stream(
        requireUser(context),
        (args as { strategyId?: string | null }).strategyId ?? null,
        (args as { after?: Date | null }).after ?? null,
      ),
    description: "Signals of your strategies as they are recorded (one strategy, or all of yours).",
  })
  strategySignal(
    @Root() s: SignalRow,
    @Arg('strategyId', () => ID, { nullable: true, description: 'One strategy; all of yours if omitted.' }) _strategyId: string | null,
    @Arg('after', () => DateTimeScalar, { nullable: true, description: 'Replay signals recorded after this time first, then go live.' }) _after: Date | null,
  ): SignalRow {
    return s;
  }
}

@Resolver(() => StrategyRun)
export class StrategyRunResolver {
  @FieldResolver(() => [Signal], { description: 'Signals this run recorded.' })
  signals(@Root() r: RunRow, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.signalsOfRuns([r.id]);
  }
}

@Resolver(() => Signal)
export class SignalResolver {
  @FieldResolver(() => Strategy, { description: 'The strategy.' })
  strategy(@Root() s: SignalRow, @Ctx() ctx: GqlContext) {
    return ctx.services.strategies.get(requireUser(ctx), s.strategyId);
  }

  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() s: SignalRow, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, s.instrumentId);
  }

  @FieldResolver(() => Order, { nullable: true, description: 'The order it placed (AUTO, or APPROVAL once approved).' })
  order(@Root() s: SignalRow, @Ctx() ctx: GqlContext) {
    return s.orderId ? ctx.services.orders.get(requireUser(ctx), s.orderId) : null;
  }
}
