import { Arg, Ctx, Int, Mutation, Query, Resolver } from 'type-graphql';
import { Candle, CandleInterval, ImportResult, IndicatorPoint, RuleCheck } from '../schema/market.type.js';
import { DateTimeScalar } from '../schema/scalars.js';
import { requireUser, type GqlContext } from './context.js';
import { checkRule } from '../services/strategies/rule-check.js';

const FROM = 'Start of the range (inclusive).';
const TO = 'End of the range (inclusive).';
const LAST = 'Only the last n bars of the range (at most 10,000; 500 when neither from nor last is given).';

@Resolver()
export class MarketResolver {
  @Query(() => [Candle], { description: 'Stored bars of an instrument, oldest first.' })
  candles(
    @Arg('symbol', () => String, { description: 'Ticker symbol.' }) symbol: string,
    @Arg('exchange', () => String, { nullable: true, description: 'Exchange, when the symbol is listed twice.' }) exchange: string | null,
    @Arg('interval', () => CandleInterval, { description: 'Bar length.' }) interval: CandleInterval,
    @Arg('from', () => DateTimeScalar, { nullable: true, description: FROM }) from: Date | null,
    @Arg('to', () => DateTimeScalar, { nullable: true, description: TO }) to: Date | null,
    @Arg('last', () => Int, { nullable: true, description: LAST }) last: number | null,
    @Ctx() ctx: GqlContext,
  ) {
    requireUser(ctx);
    return ctx.services.marketData.candles(symbol, exchange, interval, { from, to, last });
  }

  @Query(() => [IndicatorPoint], { description: 'Any rule-language expression as a series aligned to the candles, e.g. "rsi(close, 14)" or "macdHist(close)".' })
  indicator(
    @Arg('symbol', () => String, { description: 'Ticker symbol.' }) symbol: string,
    @Arg('exchange', () => String, { nullable: true, description: 'Exchange, when the symbol is listed twice.' }) exchange: string | null,
    @Arg('interval', () => CandleInterval, { description: 'Bar length.' }) interval: CandleInterval,
    @Arg('expression', () => String, { description: 'An expression in the rule language.' }) expression: string,
    @Arg('from', () => DateTimeScalar, { nullable: true, description: FROM }) from: Date | null,
    @Arg('to', () => DateTimeScalar, { nullable: true, description: TO }) to: Date | null,
    @Arg('last', () => Int, { nullable: true, description: LAST }) last: number | null,
    @Ctx() ctx: GqlContext,
  ) {
    requireUser(ctx);
    return ctx.services.marketData.indicator(symbol, exchange, interval, expression, { from, to, last });
  }

  @Query(() => RuleCheck, { description: 'Parse and type-check a rule-language expression; errors carry line and column.' })
  validateRule(@Arg('expression', () => String, { description: 'The expression.' }) expression: string, @Ctx() ctx: GqlContext) {
    requireUser(ctx);
    return checkRule(expression);
  }

  @Mutation(() => ImportResult, { description: 'Administrators: load bars from CSV (time,open,high,low,close,volume; ISO-8601 or unix seconds). A bar already stored is replaced; bad lines are reported and never block good ones.' })
  importCandles(
    @Arg('symbol', () => String, { description: 'Ticker symbol.' }) symbol: string,
    @Arg('exchange', () => String, { nullable: true, description: 'Exchange, when the symbol is listed twice.' }) exchange: string | null,
    @Arg('interval', () => CandleInterval, { description: 'Bar length of every row.' }) interval: CandleInterval,
    @Arg('csv', () => String, { description: 'The file, header first.' }) csv: string,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.marketData.importCandles(requireUser(ctx), symbol, exchange, interval, csv);
  }
}
