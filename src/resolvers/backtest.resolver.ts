import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Backtest, BacktestInput, BacktestTradeConnection } from '../schema/backtest.type.js';
import { EquityPoint, PerformanceMetrics } from '../schema/analytics.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { BacktestTrade } from '../schema/backtest.type.js';
import { requireUser, type GqlContext } from './context.js';
import { pageInfo, pageSize } from './pagination.js';
import { BadInputError } from '../errors.js';
import type { BacktestRow } from '../services/strategies/backtest.service.js';
import { downsample, type StoredResult } from '../strategies/backtest/result.js';
import { checkChartPoints } from '../services/analytics/metrics.js';
import { instrumentOf } from './loaders.js';

type StoredTrade = StoredResult['trades'][number];

@Resolver(() => Backtest)
export class BacktestResolver {
  @Query(() => Backtest, { description: 'One of your backtests.' })
  backtest(@Arg('id', () => ID, { description: 'Backtest id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.backtests.get(requireUser(ctx), id);
  }

  @Mutation(() => Backtest, { description: 'Queue a backtest; watch backtestProgress. A range with no bars or longer than the configured maximum is BAD_USER_INPUT.' })
  runBacktest(@Arg('input', () => BacktestInput, { description: 'What and over which range.' }) input: BacktestInput, @Ctx() ctx: GqlContext) {
    return ctx.services.backtests.start(requireUser(ctx), input);
  }

  @Mutation(() => Backtest, { description: 'Cancel a queued or running backtest (it stops at its next chunk of bars).' })
  cancelBacktest(@Arg('id', () => ID, { description: 'Backtest id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.backtests.cancel(requireUser(ctx), id);
  }

  @FieldResolver(() => PerformanceMetrics, { nullable: true, description: 'Figures from the shared metrics module (API.md Analytics conventions), once completed.' })
  metrics(@Root() b: BacktestRow) {
    const m = b.metrics as StoredResult['metrics'] | null;
    if (!m) return null;
    return { ...m, maxDrawdownFrom: m.maxDrawdownFrom ? new Date(m.maxDrawdownFrom) : null, maxDrawdownTo: m.maxDrawdownTo ? new Date(m.maxDrawdownTo) : null };
  }

  @FieldResolver(() => [EquityPoint], { description: 'Equity at daily closes, downsampled to at most `points` (first and last kept).' })
  equityCurve(@Root() b: BacktestRow, @Arg('points', () => Int, { nullable: true, description: 'Most points (1–2000, default 200).' }) points: number | null) {
    const n = checkChartPoints(points ?? 200);
    const eq = (b.equity ?? []) as StoredResult['equity'];
    return downsample(eq, n).map((p) => ({ time: new Date(p.t), value: p.value, netFlow: '0', twrIndex: p.twrIndex, drawdown: p.drawdown }));
  }

  @FieldResolver(() => BacktestTradeConnection, { description: 'Trades in entry order.' })
  trades(
    @Root() b: BacktestRow,
    @Arg('first', () => Int, { nullable: true, description: 'Page size.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor.' }) after: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    const all = (b.trades ?? []) as StoredTrade[];
    const start = after ? Number(Buffer.from(after, 'base64url').toString()) + 1 : 0;
    if (!Number.isInteger(start) || start < 0) throw new BadInputError('Invalid cursor', 'after', 'INVALID_CURSOR');
    const page = all.slice(start, start + pageSize(first, ctx, 50));
    const edges = page.map((t, i) => ({ cursor: Buffer.from(String(start + i)).toString('base64url'), node: t }));
    return { edges, totalCount: all.length, pageInfo: pageInfo(edges, start + page.length < all.length, after, start > 0) };
  }

  @Subscription(() => Backtest, {
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) =>
      context.services.backtests.progress(requireUser(context), (args as { backtestId: string }).backtestId),
    description: "The backtest's state on subscribe, then every change (at least every second while it runs).",
  })
  backtestProgress(@Root() b: BacktestRow, @Arg('backtestId', () => ID, { description: 'Backtest id.' }) _id: string): BacktestRow {
    return b;
  }
}

@Resolver(() => BacktestTrade)
export class BacktestTradeResolver {
  @FieldResolver(() => Instrument, { description: 'What was traded.' })
  instrument(@Root() t: StoredTrade, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, t.instrumentId);
  }
}
