import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';
import { OrderSide, OrderType, PageInfo } from './order.type.js';
export { BasketLine } from './basket.type.js';

export enum ProposalStatus {
  PENDING = 'PENDING',
  APPROVED = 'APPROVED',
  REJECTED = 'REJECTED',
  EXPIRED = 'EXPIRED',
  CANCELED = 'CANCELED',
  EXECUTED = 'EXECUTED',
}
registerEnumType(ProposalStatus, {
  name: 'ProposalStatus',
  description: 'PENDING until the client decides; APPROVED, then EXECUTED once its trades are placed; REJECTED, EXPIRED or CANCELED (by its advisor).',
});

@ObjectType({ description: "An advisor's recommendation for a client's portfolio; it trades only when the client approves." })
export class Proposal {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'Why the advisor recommends it.' })
  rationale!: string;

  @Field(() => ProposalStatus, { description: 'Where it stands.' })
  status!: ProposalStatus;

  @Field(() => ID, { nullable: true, description: 'The smallcase proposed, for a smallcase proposal.' })
  smallcaseId!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Amount to invest, for a smallcase proposal.' })
  amount!: string | null;

  @Field(() => [String], { description: 'Suitability warnings against the investment profile, each starting with a stable code (NO_PROFILE, EXCLUDED_SYMBOL, POSITION_WEIGHT, RISK_LEVEL, NO_PRICE).' })
  warnings!: string[];

  @Field(() => ID, { nullable: true, description: 'The basket run placed on approval (smallcase proposals).' })
  runId!: string | null;

  @Field(() => String, { nullable: true, description: "The client's reason for rejecting, or lines that could not be placed." })
  decisionReason!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it expires if still pending.' })
  expiresAt!: Date | null;

  @Field(() => DateTimeScalar, { description: 'When it was made.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was decided (approved, rejected, canceled or expired).' })
  decidedAt!: Date | null;
}

@InputType({ description: 'One trade of a proposal.' })
export class ProposalLineInput {
  @Field(() => String, { description: 'Ticker symbol.' })
  symbol!: string;

  @Field(() => String, { nullable: true, description: 'Exchange, when the symbol is listed on several.' })
  exchange?: string | null;

  @Field(() => OrderSide, { description: 'Buy or sell.' })
  side!: OrderSide;

  @Field(() => DecimalScalar, { description: 'How many.' })
  quantity!: string;

  @Field(() => OrderType, { nullable: true, description: 'MARKET (default) or LIMIT.' })
  type?: OrderType | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Limit price for a LIMIT line.' })
  limitPrice?: string | null;
}

@InputType({ description: 'A proposal: explicit lines, or a smallcase with an amount.' })
export class ProposalInput {
  @Field(() => ID, { description: "The client's portfolio." })
  portfolioId!: string;

  @Field(() => String, { description: 'Why.' })
  rationale!: string;

  @Field(() => [ProposalLineInput], { nullable: true, description: 'Trades to place on approval.' })
  lines?: ProposalLineInput[] | null;

  @Field(() => ID, { nullable: true, description: 'A smallcase to invest in on approval.' })
  smallcaseId?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'How much to invest in the smallcase.' })
  amount?: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Expires (EXPIRED) if not decided by then.' })
  expiresAt?: Date | null;
}

@ObjectType({ description: 'An edge in a proposal connection.' })
export class ProposalEdge {
  @Field(() => String, { description: 'Opaque cursor for `after`.' })
  cursor!: string;

  @Field(() => Proposal, { description: 'The proposal.' })
  node!: Proposal;
}

@ObjectType({ description: 'A page of proposals, newest first.' })
export class ProposalConnection {
  @Field(() => [ProposalEdge], { description: 'The proposals on this page.' })
  edges!: ProposalEdge[];

  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
}
