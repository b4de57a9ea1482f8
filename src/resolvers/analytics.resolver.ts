import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ActivityInput, EquityPoint, Performance, PerformanceRange } from '../schema/analytics.type.js';
import { checkChartPoints, downsample, type PerformanceResult } from '../services/analytics/metrics.js';
import { ImportResult } from '../schema/import.type.js';
import { DateTimeScalar } from '../schema/scalars.js';
import { requireUser, type GqlContext } from './context.js';

@Resolver()
export class AnalyticsResolver {
  @Query(() => Performance, { description: 'Performance of a portfolio over a preset range or custom dates, with an optional benchmark for beta and alpha.' })
  performance(
    @Arg('portfolioId', () => ID, { description: 'The portfolio.' }) portfolioId: string,
    @Arg('range', () => PerformanceRange, { nullable: true, description: 'Preset window (default MAX when no dates are given).' }) range: PerformanceRange | null,
    @Arg('from', () => DateTimeScalar, { nullable: true, description: 'Custom start day (overrides range).' }) from: Date | null,
    @Arg('to', () => DateTimeScalar, { nullable: true, description: 'Custom end day (default today).' }) to: Date | null,
    @Arg('benchmark', () => String, { nullable: true, description: 'Benchmark symbol, or EXCHANGE:SYMBOL.' }) benchmark: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.analytics.performance.portfolio(requireUser(ctx), portfolioId, { range, from, to, benchmark });
  }

  @Query(() => Performance, { description: "A smallcase investment's performance from its own fills, against the smallcase's index (beta, alpha, benchmarkReturn)." })
  investmentPerformance(
    @Arg('investmentId', () => ID, { description: 'The investment.' }) investmentId: string,
    @Arg('range', () => PerformanceRange, { nullable: true, description: 'Preset window (default MAX when no dates are given).' }) range: PerformanceRange | null,
    @Arg('from', () => DateTimeScalar, { nullable: true, description: 'Custom start day (overrides range).' }) from: Date | null,
    @Arg('to', () => DateTimeScalar, { nullable: true, description: 'Custom end day (default today).' }) to: Date | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.analytics.investments.performance(requireUser(ctx), investmentId, { range, from, to });
  }

  @Query(() => Performance, { description: "An advisor's book: the clients' portfolios in one currency, summed by day. Advisors see their own; admins anyone's." })
  advisorPerformance(
    @Arg('advisorId', () => ID, { description: 'The advisor.' }) advisorId: string,
    @Arg('currency', () => String, { description: 'Only portfolios in this base currency are summed.' }) currency: string,
    @Arg('range', () => PerformanceRange, { nullable: true, description: 'Preset window (default MAX when no dates are given).' }) range: PerformanceRange | null,
    @Arg('from', () => DateTimeScalar, { nullable: true, description: 'Custom start day (overrides range).' }) from: Date | null,
    @Arg('to', () => DateTimeScalar, { nullable: true, description: 'Custom end day (default today).' }) to: Date | null,
    @Arg('benchmark', () => String, { nullable: true, description: 'Benchmark symbol, or EXCHANGE:SYMBOL.' }) benchmark: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.analytics.performance.advisorBook(requireUser(ctx), advisorId, currency, { range, from, to, benchmark });
  }

  @Mutation(() => ImportResult, { description: 'Load past deposits, withdrawals, trades, dividends and fees; a re-import of the same lines is skipped.' })
  importActivities(
    @Arg('portfolioId', () => ID, { description: 'The portfolio (yours).' }) portfolioId: string,
    @Arg('activities', () => [ActivityInput], { description: 'The activities; line numbers in errors are 1-based positions in this list.' }) activities: ActivityInput[],
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.analytics.imports.import(requireUser(ctx), portfolioId, activities);
  }

  @Mutation(() => Int, { description: 'Rebuild the daily valuations of a portfolio from its history and candle closes; returns the days written.' })
  async backfillValuations(
    @Arg('portfolioId', () => ID, { description: 'The portfolio (yours).' }) portfolioId: string,
    @Arg('from', () => DateTimeScalar, { nullable: true, description: 'First day to rebuild (default: the first activity).' }) from: Date | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.analytics.performance.backfill(requireUser(ctx), portfolioId, from);
  }
}

@Resolver(() => Performance)
export class PerformanceFieldsResolver {
  @FieldResolver(() => [EquityPoint], { description: 'One point per valuation day, the base first; with `points`, at most that many (evenly spaced, keeping the ends and the deepest drawdown).' })
  series(
    @Root() p: PerformanceResult,
    @Arg('points', () => Int, { nullable: true, description: 'Most points to return, 1–2000 (a chart needs a few hundred); all when omitted.' }) points: number | null,
  ) {
    return points === null || points === undefined ? p.series : downsample(p.series, checkChartPoints(points));
  }
}
