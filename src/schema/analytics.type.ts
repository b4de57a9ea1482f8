import { Field, Float, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';

export enum PerformanceRange {
  D1 = 'D1',
  W1 = 'W1',
  MTD = 'MTD',
  YTD = 'YTD',
  Y1 = 'Y1',
  MAX = 'MAX',
}
registerEnumType(PerformanceRange, {
  name: 'PerformanceRange',
  description: 'D1: today; W1: the last 7 days; MTD / YTD: month / year to date; Y1: the last 365 days; MAX: since inception.',
});

export enum ActivityType {
  DEPOSIT = 'DEPOSIT',
  WITHDRAWAL = 'WITHDRAWAL',
  BUY = 'BUY',
  SELL = 'SELL',
  DIVIDEND = 'DIVIDEND',
  FEE = 'FEE',
}
registerEnumType(ActivityType, { name: 'ActivityType', description: 'Kinds of imported activity; deposits and withdrawals are the only external flows.' });

@ObjectType({ description: 'Return and risk figures (conventions in the README: daily TWR returns, 252 days a year, actual/365 XIRR).' })
export class PerformanceMetrics {
  @Field(() => Float, { description: 'profit / (start value + deposits).' })
  totalReturn!: number;

  @Field(() => Float, { nullable: true, description: 'Time-weighted return: the linked daily returns net of external flows.' })
  twr!: number | null;

  @Field(() => Float, { nullable: true, description: "Money-weighted annual return, Excel's XIRR over start value, flows and end value; null when no rate solves it." })
  xirr!: number | null;

  @Field(() => Float, { nullable: true, description: '(1 + twr)^(365 / calendar days) − 1.' })
  cagr!: number | null;

  @Field(() => Float, { nullable: true, description: 'Sample standard deviation of daily returns × √252.' })
  volatility!: number | null;

  @Field(() => Float, { nullable: true, description: 'mean(daily return − rf/252) / stdev × √252.' })
  sharpe!: number | null;

  @Field(() => Float, { nullable: true, description: 'mean(daily return − rf/252) / √(mean(min(r,0)²)) × √252.' })
  sortino!: number | null;

  @Field(() => Float, { description: 'Deepest fall of the TWR index from a peak (≤ 0).' })
  maxDrawdown!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'The peak before the deepest fall.' })
  maxDrawdownFrom!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'The trough of the deepest fall.' })
  maxDrawdownTo!: Date | null;

  @Field(() => Float, { nullable: true, description: 'cagr / |maxDrawdown|.' })
  calmar!: number | null;

  @Field(() => Float, { nullable: true, description: 'cov(r, b) / var(b) of daily returns against the benchmark.' })
  beta!: number | null;

  @Field(() => Float, { nullable: true, description: "Jensen's alpha, annualised: (mean r − rf/252 − beta (mean b − rf/252)) × 252." })
  alpha!: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of closed trades with a profit (backtests).' })
  winRate!: number | null;

  @Field(() => Float, { nullable: true, description: 'Gross profit / gross loss of closed trades (backtests).' })
  profitFactor!: number | null;

  @Field(() => Int, { nullable: true, description: 'Closed trades (backtests).' })
  trades!: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of periods with a position open (backtests).' })
  exposure!: number | null;
}

@ObjectType({ description: 'One close of a value series, for charts.' })
export class EquityPoint {
  @Field(() => DateTimeScalar, { description: 'The day (00:00 UTC) whose close this is.' })
  time!: Date;

  @Field(() => DecimalScalar, { description: 'Value at the close: cash + positions.' })
  value!: string;

  @Field(() => DecimalScalar, { description: 'External flow of the day: deposits − withdrawals.' })
  netFlow!: string;

  @Field(() => Float, { description: 'TWR index, 1 at the start of the series.' })
  twrIndex!: number;

  @Field(() => Float, { description: 'twrIndex / its running peak − 1 (≤ 0).' })
  drawdown!: number;
}

@ObjectType({ description: 'Performance over a window: money in decimals, returns as floats, and the chart series.' })
export class Performance {
  @Field(() => DateTimeScalar, { description: 'The base: the close before the first day of the window.' })
  from!: Date;

  @Field(() => DateTimeScalar, { description: 'The last close (today: live quotes).' })
  to!: Date;

  @Field(() => DecimalScalar, { description: 'Value at `from`.' })
  startValue!: string;

  @Field(() => DecimalScalar, { description: 'Value at `to`.' })
  endValue!: string;

  @Field(() => DecimalScalar, { description: 'Deposits − withdrawals after `from`.' })
  netFlows!: string;

  @Field(() => DecimalScalar, { description: 'endValue − startValue − netFlows.' })
  profit!: string;

  @Field(() => PerformanceMetrics, { description: 'The figures.' })
  metrics!: PerformanceMetrics;

  @Field(() => [EquityPoint], { description: 'One point per valuation day, the base first.' })
  series!: EquityPoint[];

  @Field(() => Float, { nullable: true, description: "The benchmark's return over the same days (for investments: the smallcase's index); null without one." })
  benchmarkReturn!: number | null;
}

@InputType({ description: 'One past activity. amount is positive for DEPOSIT, WITHDRAWAL, DIVIDEND and FEE; BUY and SELL take quantity and price (and fee).' })
export class ActivityInput {
  @Field(() => DateTimeScalar, { description: 'When it happened; a date at 00:00 UTC is that calendar day.' })
  date!: Date;

  @Field(() => ActivityType, { description: 'What it was.' })
  type!: ActivityType;

  @Field(() => String, { nullable: true, description: 'Instrument (BUY, SELL; optional for DIVIDEND).' })
  symbol?: string | null;

  @Field(() => String, { nullable: true, description: 'Exchange, when the symbol is listed on several.' })
  exchange?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Units bought or sold (> 0).' })
  quantity?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Price per unit (> 0).' })
  price?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Cash amount (> 0) for DEPOSIT, WITHDRAWAL, DIVIDEND, FEE.' })
  amount?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Fee paid (≥ 0).' })
  fee?: string | null;
}
