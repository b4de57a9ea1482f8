import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';
import { CreateStrategyInput, PositionSide } from './strategy.type.js';
import { PageInfo } from './order.type.js';

export enum BacktestStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELED = 'CANCELED',
}
registerEnumType(BacktestStatus, { name: 'BacktestStatus', description: 'Where a backtest is.' });

@InputType({ description: 'A backtest: a saved strategy or an inline definition, over a range of stored bars.' })
export class BacktestInput {
  @Field(() => ID, { nullable: true, description: 'One of your strategies.' })
  strategyId?: string | null;
  @Field(() => CreateStrategyInput, { nullable: true, description: 'Or a definition (mode and portfolio are ignored).' })
  definition?: CreateStrategyInput | null;
  @Field(() => DateTimeScalar, { description: 'First bar time (inclusive).' })
  from!: Date;
  @Field(() => DateTimeScalar, { description: 'Last bar time (inclusive).' })
  to!: Date;
  @Field(() => DecimalScalar, { description: 'Starting cash.' })
  initialCash!: string;
  @Field(() => DecimalScalar, { nullable: true, description: 'Fee per fill as a fraction of notional (0.001 = 10 bps); default 0.' })
  feeRate?: string | null;
  @Field(() => Float, { nullable: true, description: 'Slippage against each fill, basis points; default 0.' })
  slippageBps?: number | null;
}

@ObjectType({ description: 'A round trip of a backtest (open at the end when exitTime is null).' })
export class BacktestTrade {
  @Field(() => PositionSide, { description: 'LONG or SHORT.' })
  side!: PositionSide;
  @Field(() => DecimalScalar, { description: 'Shares.' })
  quantity!: string;
  @Field(() => DateTimeScalar, { description: 'Entry bar.' })
  entryTime!: Date;
  @Field(() => DecimalScalar, { description: 'Entry fill price (after slippage).' })
  entryPrice!: string;
  @Field(() => DateTimeScalar, { nullable: true, description: 'Exit bar.' })
  exitTime!: Date | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Exit fill price.' })
  exitPrice!: string | null;
  @Field(() => DecimalScalar, { nullable: true, description: 'Profit after both fees.' })
  pnl!: string | null;
  @Field(() => Float, { nullable: true, description: 'pnl / entry notional.' })
  returnPct!: number | null;
}

@ObjectType({ description: 'An edge of a trade connection.' })
export class BacktestTradeEdge {
  @Field(() => String, { description: 'Cursor.' })
  cursor!: string;
  @Field(() => BacktestTrade, { description: 'The trade.' })
  node!: BacktestTrade;
}

@ObjectType({ description: 'Trades in entry order.' })
export class BacktestTradeConnection {
  @Field(() => [BacktestTradeEdge], { description: 'Trades on this page.' })
  edges!: BacktestTradeEdge[];
  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
  @Field(() => Int, { description: 'All trades.' })
  totalCount!: number;
}

@ObjectType({ description: 'A backtest and, once completed, its results.' })
export class Backtest {
  @Field(() => ID, { description: 'Id.' })
  id!: string;
  @Field(() => BacktestStatus, { description: 'Status.' })
  status!: BacktestStatus;
  @Field(() => Float, { description: 'Share of bars replayed (0–1).' })
  progress!: number;
  @Field(() => Int, { description: 'Bars replayed so far.' })
  barsProcessed!: number;
  @Field(() => Int, { description: 'Signals the replay produced.' })
  signals!: number;
  @Field(() => String, { nullable: true, description: 'Why it failed.' })
  error!: string | null;
  @Field(() => DateTimeScalar, { description: 'When it was queued.' })
  createdAt!: Date;
  @Field(() => DateTimeScalar, { nullable: true, description: 'When it ended.' })
  finishedAt!: Date | null;
}
