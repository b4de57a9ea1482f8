import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';
import { Instrument } from './instrument.type.js';
import { OrderSide, OrderStatus } from './order.type.js';

export enum Visibility {
  PRIVATE = 'PRIVATE',
  PUBLIC = 'PUBLIC',
}
export enum BasketRunKind {
  INVEST = 'INVEST',
  INVEST_MORE = 'INVEST_MORE',
  REBALANCE = 'REBALANCE',
  EXIT = 'EXIT',
  REPAIR = 'REPAIR',
  TARGET = 'TARGET',
}
export enum BasketRunStatus {
  PLACING = 'PLACING',
  SELLING = 'SELLING',
  BUYING = 'BUYING',
  COMPLETED = 'COMPLETED',
  PARTIAL = 'PARTIAL',
  FAILED = 'FAILED',
  CANCELED = 'CANCELED',
}
export enum InvestmentStatus {
  PLACING = 'PLACING',
  ACTIVE = 'ACTIVE',
  NEEDS_REPAIR = 'NEEDS_REPAIR',
  OUT_OF_SYNC = 'OUT_OF_SYNC',
  EXITED = 'EXITED',
}
registerEnumType(Visibility, { name: 'Visibility', description: 'PRIVATE: only its owner sees it. PUBLIC: everyone sees it; only its owner (or an admin) changes it.' });
registerEnumType(BasketRunKind, { name: 'BasketRunKind', description: 'What a basket run does.' });
registerEnumType(BasketRunStatus, {
  name: 'BasketRunStatus',
  description: 'SELLING (its sells are out) → BUYING (buys sized on what the sells raised) → COMPLETED, PARTIAL (some lines did not fill) or FAILED (nothing filled).',
});
registerEnumType(InvestmentStatus, {
  name: 'InvestmentStatus',
  description: 'PLACING (a run is in flight), ACTIVE, NEEDS_REPAIR (a run ended PARTIAL), OUT_OF_SYNC (the portfolio no longer holds what it should, e.g. after a direct sell), EXITED.',
});

@ObjectType({ description: 'One member of a smallcase version.' })
export class Constituent {
  instrumentId!: string;

  @Field(() => Instrument, { description: 'The instrument.' })
  instrument!: Instrument;

  @Field(() => DecimalScalar, { description: 'Target weight (a version’s weights sum to 1).' })
  weight!: string;
}

@ObjectType({ description: 'A smallcase: a versioned, weighted basket of instruments in one currency.' })
export class Smallcase {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  ownerId!: string | null;

  @Field(() => String, { description: 'Name.' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'What it is about.' })
  description!: string | null;

  @Field(() => Visibility, { description: 'Who can see it.' })
  visibility!: Visibility;

  @Field(() => String, { description: 'The currency every constituent trades in.' })
  currency!: string;

  @Field(() => Int, { description: 'Current version; a change of constituents makes a new one.' })
  version!: number;

  @Field(() => Boolean, { description: 'Archived smallcases take no new investments.' })
  archived!: boolean;

  @Field(() => DateTimeScalar, { description: 'Created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'Last changed.' })
  updatedAt!: Date;
}

@InputType({ description: 'A constituent: symbol (and exchange when ambiguous) and weight.' })
export class ConstituentInput {
  @Field(() => String, { description: 'Symbol.' })
  symbol!: string;

  @Field(() => String, { nullable: true, description: 'Exchange, when the symbol is listed on several.' })
  exchange?: string | null;

  @Field(() => DecimalScalar, { description: 'Weight > 0; the weights sum to exactly 1.' })
  weight!: string;
}

@InputType({ description: 'A new smallcase.' })
export class CreateSmallcaseInput {
  @Field(() => String, { description: 'Name (1–100 characters).' })
  name!: string;

  @Field(() => String, { nullable: true, description: 'Description.' })
  description?: string | null;

  @Field(() => Visibility, { nullable: true, description: 'PRIVATE by default.' })
  visibility?: Visibility | null;

  @Field(() => [ConstituentInput], { description: '1–50 constituents, weights summing to 1, one currency.' })
  constituents!: ConstituentInput[];
}

@InputType({ description: 'Changes to a smallcase; new constituents make a new version.' })
export class UpdateSmallcaseInput {
  @Field(() => String, { nullable: true, description: 'New name.' })
  name?: string | null;

  @Field(() => String, { nullable: true, description: 'New description.' })
  description?: string | null;

  @Field(() => Visibility, { nullable: true, description: 'New visibility.' })
  visibility?: Visibility | null;

  @Field(() => [ConstituentInput], { nullable: true, description: 'New constituents: a new version.' })
  constituents?: ConstituentInput[] | null;

  @Field(() => String, { nullable: true, description: 'Why the constituents changed (shown to investors).' })
  rationale?: string | null;
}

@ObjectType({ description: 'One line of a basket plan.' })
export class BasketLine {
  instrumentId!: string;

  @Field(() => Instrument, { description: 'The instrument.' })
  instrument!: Instrument;

  @Field(() => OrderSide, { description: 'BUY or SELL.' })
  side!: OrderSide;

  @Field(() => DecimalScalar, { description: 'Whole lots.' })
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Price the plan assumed (ask for buys, bid for sells).' })
  estimatedPrice!: string;

  @Field(() => DecimalScalar, { description: 'quantity × estimatedPrice.' })
  estimatedValue!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Target weight (a target portfolio: the weight asked for, null for a quantity target).' })
  targetWeight!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Weight after the plan, at estimated prices (a target portfolio: of its whole value, cash included).' })
  resultingWeight!: string | null;
}

@ObjectType({ description: 'What a basket action would do: whole-lot lines, never costing more than the amount.' })
export class BasketPlan {
  @Field(() => [BasketLine], { description: 'Sells first, then buys.' })
  lines!: BasketLine[];

  @Field(() => DecimalScalar, { description: 'Value bought at estimated prices.' })
  investedAmount!: string;

  @Field(() => DecimalScalar, { description: 'Cash left over after the buys and their fee bound.' })
  leftoverCash!: string;

  @Field(() => DecimalScalar, { description: 'Upper bound of the fees.' })
  estimatedFees!: string;

  @Field(() => Float, { description: 'max |resulting weight − target weight| over the lines (a target portfolio: over every target line).' })
  maxWeightDeviation!: number;
}

@ObjectType({ description: 'How one line of a run executed.' })
export class ExecutionLine {
  instrumentId!: string;

  @Field(() => Instrument, { description: 'The instrument.' })
  instrument!: Instrument;

  @Field(() => OrderSide, { description: 'BUY or SELL.' })
  side!: OrderSide;

  @Field(() => DecimalScalar, { description: 'Quantity ordered.' })
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Quantity filled.' })
  filledQuantity!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Average fill price.' })
  averagePrice!: string | null;

  @Field(() => OrderStatus, { description: 'The order’s status (REJECTED for a line refused before it became an order).' })
  status!: OrderStatus;

  @Field(() => String, { nullable: true, description: 'Why it did not fill in full.' })
  reason!: string | null;
}

@ObjectType({ description: 'A group of orders placed together: sells first, then buys sized on what the sells raised.' })
export class BasketRun {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  portfolioId!: string;
  investmentId!: string | null;

  @Field(() => BasketRunKind, { description: 'What it does.' })
  kind!: BasketRunKind;

  @Field(() => BasketRunStatus, { description: 'Where it is.' })
  status!: BasketRunStatus;

  @Field(() => DateTimeScalar, { description: 'Created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it ended.' })
  completedAt!: Date | null;
}

@ObjectType({ description: 'A basket run changed (pushed with the portfolio’s event sequence).' })
export class BasketRunEvent {
  @Field(() => Int, { description: 'The portfolio’s event sequence number.' })
  sequence!: number;

  @Field(() => BasketRun, { description: 'The run as it stands.' })
  run!: BasketRun;
}

@ObjectType({ description: 'What an investment holds of one instrument (from its own fills).' })
export class InvestmentHolding {
  instrumentId!: string;

  @Field(() => Instrument, { description: 'The instrument.' })
  instrument!: Instrument;

  @Field(() => DecimalScalar, { description: 'Quantity attributed to this investment.' })
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Average cost of that quantity.' })
  averageCost!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'quantity × last price.' })
  marketValue!: string | null;

  @Field(() => Float, { nullable: true, description: 'Share of the investment’s current value.' })
  currentWeight!: number | null;

  @Field(() => DecimalScalar, { description: 'Weight in the investment’s version (0 if no longer a constituent).' })
  targetWeight!: string;

  @Field(() => DecimalScalar, { description: 'What the investment means to hold (repair restores it).' })
  targetQuantity!: string;
}

@ObjectType({ description: 'A portfolio’s investment in a smallcase, with its own holdings.' })
export class SmallcaseInvestment {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  smallcaseId!: string;
  portfolioId!: string;

  @Field(() => Int, { description: 'The smallcase version it follows.' })
  version!: number;

  @Field(() => DecimalScalar, { description: 'Net cash put in: buys with fees, less sells net of fees.' })
  investedAmount!: string;

  @Field(() => DateTimeScalar, { description: 'Created.' })
  createdAt!: Date;
}

@InputType({ description: 'A target for one instrument: a quantity or a weight of the portfolio’s total value.' })
export class TargetLine {
  @Field(() => String, { description: 'Symbol.' })
  symbol!: string;

  @Field(() => String, { nullable: true, description: 'Exchange, when ambiguous.' })
  exchange?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Quantity to end with (0 sells out).' })
  targetQuantity?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Weight of the portfolio’s total value to end with.' })
  targetWeight?: string | null;
}
