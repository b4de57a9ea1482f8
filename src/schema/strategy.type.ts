import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar, JSONScalar } from './scalars.js';
import { CandleInterval } from './market.type.js';
import { PageInfo } from './order.type.js';

export enum StrategyKind {
  MACD_VWAP = 'MACD_VWAP',
  SMA_CROSS = 'SMA_CROSS',
  RSI_REVERSION = 'RSI_REVERSION',
  STD_MOMENTUM = 'STD_MOMENTUM',
  RULES = 'RULES',
}
export enum StrategyMode {
  SIGNAL_ONLY = 'SIGNAL_ONLY',
  AUTO = 'AUTO',
  APPROVAL = 'APPROVAL',
}
export enum StrategyStatus {
  ACTIVE = 'ACTIVE',
  PAUSED = 'PAUSED',
}
export enum PositionSide {
  LONG = 'LONG',
  SHORT = 'SHORT',
  BOTH = 'BOTH',
}
export enum SignalAction {
  ENTER_LONG = 'ENTER_LONG',
  EXIT_LONG = 'EXIT_LONG',
  ENTER_SHORT = 'ENTER_SHORT',
  EXIT_SHORT = 'EXIT_SHORT',
}
registerEnumType(StrategyKind, { name: 'StrategyKind', description: 'A built-in strategy, or RULES (your own entry and exit expressions).' });
registerEnumType(StrategyMode, { name: 'StrategyMode', description: 'SIGNAL_ONLY pushes strategySignal; AUTO places orders; APPROVAL waits for you to approve each signal.' });
registerEnumType(StrategyStatus, { name: 'StrategyStatus', description: 'Whether scheduled runs happen.' });
registerEnumType(PositionSide, { name: 'PositionSide', description: 'Which side a strategy trades, or a trade was.' });
registerEnumType(SignalAction, { name: 'SignalAction', description: 'What a signal says to do.' });

@InputType({ description: 'Where a strategy or screener finds instruments: exactly one source.' })
export class UniverseInput {
  @Field(() => ID, { nullable: true, description: 'One of your watchlists.' })
  watchlistId?: string | null;
  @Field(() => ID, { nullable: true, description: 'A smallcase you own or a public one.' })
  smallcaseId?: string | null;
  @Field(() => ID, { nullable: true, description: "One of your screeners (its output watchlist, or its last run's matches)." })
  screenerId?: string | null;
  @Field(() => [String], { nullable: true, description: 'Symbols ("AAPL" or "NSE:RELIANCE").' })
  symbols?: string[] | null;
}

@InputType({ description: 'How much an entry trades: exactly one (default quantity 1).' })
export class SizingInput {
  @Field(() => DecimalScalar, { nullable: true, description: 'Shares per entry.' })
  quantity?: string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Money per entry, in the instrument currency (rounded down to lots).' })
  amount?: string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Percent (0–100] of portfolio equity per entry.' })
  percentOfEquity?: string | null;
}

@InputType({ description: 'Entry and exit conditions in the rule language.' })
export class RulesInput {
  @Field(() => String, { description: 'When to enter.' })
  entry!: string;
  @Field(() => String, { nullable: true, description: 'When to exit (none: hold).' })
  exit?: string | null;
  @Field(() => PositionSide, { nullable: true, description: 'LONG (default), SHORT, or BOTH (entry goes long, exit goes short).' })
  side?: PositionSide | null;
}

@ObjectType({ description: 'Entry and exit conditions in the rule language.' })
export class Rules {
  @Field(() => String, { description: 'When to enter.' })
  entry!: string;
  @Field(() => String, { nullable: true, description: 'When to exit.' })
  exit!: string | null;
  @Field(() => PositionSide, { nullable: true, description: 'Side traded.' })
  side!: PositionSide | null;
}

@InputType({ description: 'A strategy definition.' })
export class CreateStrategyInput {
  @Field(() => String, { description: 'Name (1–100 characters).' })
  name!: string;
  @Field(() => StrategyKind, { description: 'Built-in or RULES.' })
  kind!: StrategyKind;
  @Field(() => JSONScalar, { nullable: true, description: 'Built-in parameters (e.g. { "fast": 10, "slow": 30, "side": "LONG" }); see the README.' })
  parameters?: Record<string, unknown> | null;
  @Field(() => RulesInput, { nullable: true, description: 'For RULES: entry, exit, side.' })
  rules?: RulesInput | null;
  @Field(() => CandleInterval, { description: 'Bars it evaluates.' })
  interval!: CandleInterval;
  @Field(() => UniverseInput, { description: 'Instruments it evaluates.' })
  universe!: UniverseInput;
  @Field(() => ID, { nullable: true, description: 'Portfolio it trades in (required for AUTO and APPROVAL).' })
  portfolioId?: string | null;
  @Field(() => SizingInput, { nullable: true, description: 'Size of an entry.' })
  sizing?: SizingInput | null;
  @Field(() => StrategyMode, { description: 'What a signal does.' })
  mode!: StrategyMode;
  @Field(() => String, { nullable: true, description: 'Cron (5 fields, or 6 with seconds; at most once a minute), or @barClose.' })
  schedule?: string | null;
  @Field(() => String, { nullable: true, description: 'IANA time zone of the cron (default UTC).' })
  timezone?: string | null;
}

@ObjectType({ description: 'A strategy.' })
export class Strategy {
  @Field(() => ID, { description: 'Id.' })
  id!: string;
  @Field(() => String, { description: 'Name.' })
  name!: string;
  @Field(() => StrategyKind, { description: 'Built-in or RULES.' })
  kind!: StrategyKind;
  @Field(() => JSONScalar, { nullable: true, description: 'Built-in parameters as given.' })
  parameters!: unknown;
  @Field(() => Rules, { nullable: true, description: 'For RULES.' })
  rules!: Rules | null;
  @Field(() => CandleInterval, { description: 'Bars it evaluates.' })
  interval!: CandleInterval;
  @Field(() => StrategyMode, { description: 'What a signal does.' })
  mode!: StrategyMode;
  @Field(() => StrategyStatus, { description: 'Active or paused.' })
  status!: StrategyStatus;
  @Field(() => String, { nullable: true, description: 'Cron or @barClose.' })
  schedule!: string | null;
  @Field(() => String, { nullable: true, description: 'Time zone of the cron.' })
  timezone!: string | null;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Next scheduled run.' })
  nextRunAt!: Date | null;
  @Field(() => JSONScalar, { description: 'The universe as given.' })
  universe!: unknown;
  @Field(() => JSONScalar, { description: 'The sizing as stored.' })
  sizing!: unknown;
  @Field(() => DateTimeScalar, { description: 'When it was created.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A signal: an action on an instrument at a closed bar.' })
export class Signal {
  @Field(() => ID, { description: 'Id.' })
  id!: string;
  @Field(() => SignalAction, { description: 'What to do.' })
  action!: SignalAction;
  @Field(() => DecimalScalar, { nullable: true, description: 'The close of the bar that signalled.' })
  price!: string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Shares it would trade.' })
  quantity!: string | null;
  @Field(() => DateTimeScalar, { description: 'Start of the bar.' })
  barTime!: Date;
  @Field(() => String, { description: 'NEW (signal only), PENDING_APPROVAL, APPROVED, REJECTED, ORDERED, FAILED.' })
  status!: string;
  @Field(() => String, { nullable: true, description: 'The condition that fired, or why its order failed.' })
  reason!: string | null;
  @Field(() => DateTimeScalar, { description: 'When it was recorded.' })
  createdAt!: Date;
}

@ObjectType({ description: 'One evaluation of a strategy.' })
export class StrategyRun {
  @Field(() => ID, { description: 'Id.' })
  id!: string;
  @Field(() => String, { description: 'RUNNING, COMPLETED or FAILED.' })
  status!: string;
  @Field(() => String, { description: 'MANUAL or SCHEDULE.' })
  trigger!: string;
  @Field(() => DateTimeScalar, { description: 'Start.' })
  startedAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true, description: 'End.' })
  finishedAt!: Date | null;
  @Field(() => Int, { description: 'Instruments evaluated.' })
  evaluated!: number;
  @Field(() => Int, { description: 'Orders placed.' })
  orders!: number;
  @Field(() => Int, { nullable: true, description: 'How long it took, ms.' })
  durationMs!: number | null;
  @Field(() => String, { nullable: true, description: 'What failed (per instrument), if anything.' })
  error!: string | null;
}

@ObjectType({ description: 'An edge of a run connection.' })
export class StrategyRunEdge {
  @Field(() => String, { description: 'Cursor.' })
  cursor!: string;
  @Field(() => StrategyRun, { description: 'The run.' })
  node!: StrategyRun;
}

@ObjectType({ description: 'Runs, newest first.' })
export class StrategyRunConnection {
  @Field(() => [StrategyRunEdge], { description: 'Runs on this page.' })
  edges!: StrategyRunEdge[];
  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
}

export enum ScreenerKind {
  TOP_GAINERS = 'TOP_GAINERS',
  STD_FILTER = 'STD_FILTER',
  RULES = 'RULES',
  EARNINGS = 'EARNINGS',
}
registerEnumType(ScreenerKind, { name: 'ScreenerKind', description: 'How a screener picks instruments (parameters in the README).' });

@InputType({ description: 'A screener definition.' })
export class CreateScreenerInput {
  @Field(() => String, { description: 'Name.' })
  name!: string;
  @Field(() => ScreenerKind, { description: 'Kind.' })
  kind!: ScreenerKind;
  @Field(() => JSONScalar, { nullable: true, description: 'TOP_GAINERS { period, top }; STD_FILTER { period, lookback, minZ, top }; EARNINGS { quarters, minBeats }.' })
  parameters?: Record<string, unknown> | null;
  @Field(() => String, { nullable: true, description: 'RULES: the condition, in the rule language.' })
  rule?: string | null;
  @Field(() => UniverseInput, { description: 'Instruments to screen.' })
  universe!: UniverseInput;
  @Field(() => CandleInterval, { nullable: true, description: 'Bars to screen on (default D1).' })
  interval?: CandleInterval | null;
  @Field(() => String, { nullable: true, description: 'Cron (at most once a minute) for scheduled runs.' })
  schedule?: string | null;
  @Field(() => String, { nullable: true, description: 'Time zone of the cron.' })
  timezone?: string | null;
  @Field(() => ID, { nullable: true, description: 'Watchlist the matches replace (one is created if omitted).' })
  outputWatchlistId?: string | null;
}

@ObjectType({ description: 'One instrument a screener picked.' })
export class ScreenerMatch {
  @Field(() => Float, { nullable: true, description: 'Strength (return, z-score, average EPS surprise); null for RULES.' })
  score!: number | null;
  @Field(() => JSONScalar, { nullable: true, description: 'The figures behind the pick.' })
  values!: unknown;
}

@ObjectType({ description: 'One run of a screener.' })
export class ScreenerRun {
  @Field(() => ID, { description: 'Id.' })
  id!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it finished.' })
  finishedAt!: Date | null;
  @Field(() => [ScreenerMatch], { description: 'Matches, strongest first.' })
  matches!: ScreenerMatch[];
}

@ObjectType({ description: 'A screener.' })
export class Screener {
  @Field(() => ID, { description: 'Id.' })
  id!: string;
  @Field(() => String, { description: 'Name.' })
  name!: string;
  @Field(() => ScreenerKind, { description: 'Kind.' })
  kind!: ScreenerKind;
  @Field(() => String, { nullable: true, description: 'Cron.' })
  schedule!: string | null;
}
