import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';

export enum OrderSide {
  BUY = 'BUY',
  SELL = 'SELL',
}
export enum OrderType {
  MARKET = 'MARKET',
  LIMIT = 'LIMIT',
  STOP = 'STOP',
  STOP_LIMIT = 'STOP_LIMIT',
}
export enum TimeInForce {
  DAY = 'DAY',
  GTC = 'GTC',
  IOC = 'IOC',
}
export enum OrderStatus {
  PENDING = 'PENDING',
  SUBMITTING = 'SUBMITTING',
  OPEN = 'OPEN',
  PARTIALLY_FILLED = 'PARTIALLY_FILLED',
  FILLED = 'FILLED',
  CANCEL_REQUESTED = 'CANCEL_REQUESTED',
  CANCELED = 'CANCELED',
  REJECTED = 'REJECTED',
  EXPIRED = 'EXPIRED',
  FAILED = 'FAILED',
}
registerEnumType(OrderSide, { name: 'OrderSide', description: 'Buy or sell.' });
registerEnumType(OrderType, {
  name: 'OrderType',
  description: 'MARKET fills now at the best price; LIMIT at the limit or better; STOP becomes MARKET once the stop trades; STOP_LIMIT becomes LIMIT.',
});
registerEnumType(TimeInForce, { name: 'TimeInForce', description: 'DAY (until the session ends), GTC (until canceled), IOC (fill what you can now, cancel the rest).' });
registerEnumType(OrderStatus, { name: 'OrderStatus', description: 'Where an order is in its life: PENDING → SUBMITTING → OPEN → PARTIALLY_FILLED → FILLED, or an exit.' });

@ObjectType({ description: 'One execution of an order.' })
export class Fill {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  orderId!: string;

  @Field(() => DecimalScalar, { description: 'Quantity executed.' })
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Execution price.' })
  price!: string;

  @Field(() => DecimalScalar, { description: 'Broker fee charged for this execution.' })
  fee!: string;

  @Field(() => DateTimeScalar, { description: 'When it executed at the broker.' })
  executedAt!: Date;

  @Field(() => String, {
    nullable: true,
    description:
      "The broker's trade / execution id: the trade id Kite, Upstox, Fyers, Angel One and Groww report, IBKR's execution id, the paper exchange's own. Alpaca's and TradeStation's order updates report cumulative fills, so theirs is `<broker order id>@<cumulative quantity>`. A pooled member's fill is its share of the account's parent fill: `<parent order id>:<that id>`, or `<parent order id>:cross` for the part crossed inside the account.",
  })
  brokerFillId!: string | null;
}

@ObjectType({ description: 'An order: recorded at once, sent to the broker by the job loop, filled over time.' })
export class Order {
  @Field(() => ID, { description: 'Stable id (also sent to the broker as its client order id).' })
  id!: string;

  @Field(() => String, { description: 'Your idempotency key: placing again with it returns this order.' })
  clientOrderId!: string;

  portfolioId!: string;
  instrumentId!: string;

  @Field(() => OrderSide, { description: 'BUY or SELL.' })
  side!: OrderSide;

  @Field(() => OrderType, { description: 'Order type.' })
  type!: OrderType;

  @Field(() => TimeInForce, { description: 'How long the order lives.' })
  timeInForce!: TimeInForce;

  @Field(() => DecimalScalar, { description: 'Quantity ordered.' })
  quantity!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Limit price (LIMIT, STOP_LIMIT).' })
  limitPrice!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Stop (trigger) price (STOP, STOP_LIMIT).' })
  stopPrice!: string | null;

  @Field(() => DecimalScalar, {
    nullable: true,
    description:
      'Market protection (MARKET and STOP buys): the worst price the broker may fill it at, the price its cash hold was sized from. What cannot fill within it is canceled (rejectReason MARKET_PROTECTION).',
  })
  protectionPrice!: string | null;

  @Field(() => OrderStatus, { description: 'Current status.' })
  status!: OrderStatus;

  @Field(() => DecimalScalar, { description: 'Quantity filled so far.' })
  filledQuantity!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Volume-weighted average fill price.' })
  averageFillPrice!: string | null;

  @Field(() => DecimalScalar, { description: 'Fees charged so far.' })
  feesPaid!: string;

  @Field(() => String, { nullable: true, description: "The broker's id for this order, once acknowledged." })
  brokerOrderId!: string | null;

  @Field(() => String, { nullable: true, description: 'Why the broker rejected, canceled or expired it (e.g. MARKET_PROTECTION), or why it failed.' })
  rejectReason!: string | null;

  @Field(() => DateTimeScalar, { description: 'When it was placed.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'Last change.' })
  updatedAt!: Date;
}

@ObjectType({ description: 'An edge in an order connection.' })
export class OrderEdge {
  @Field(() => String, { description: 'Opaque cursor for `after`.' })
  cursor!: string;

  @Field(() => Order, { description: 'The order.' })
  node!: Order;
}

@ObjectType({ description: 'Relay page information.' })
export class PageInfo {
  @Field(() => Boolean, { description: 'Whether more items follow.' })
  hasNextPage!: boolean;

  @Field(() => Boolean, { description: 'Whether items come before this page: true when it was asked for `after` a cursor (paging is forward only).' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Cursor of the first edge.' })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'Cursor of the last edge.' })
  endCursor!: string | null;
}

@ObjectType({ description: 'A page of orders, newest first.' })
export class OrderConnection {
  @Field(() => [OrderEdge], { description: 'The orders on this page.' })
  edges!: OrderEdge[];

  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
}

@InputType({ description: 'An order to place.' })
export class PlaceOrderInput {
  @Field(() => ID, { description: 'Portfolio to trade in (yours).' })
  portfolioId!: string;

  @Field(() => String, { description: 'Ticker symbol.' })
  symbol!: string;

  @Field(() => String, { nullable: true, description: 'Exchange, when the symbol is listed on several.' })
  exchange?: string | null;

  @Field(() => OrderSide, { description: 'BUY or SELL.' })
  side!: OrderSide;

  @Field(() => OrderType, { description: 'MARKET, LIMIT, STOP or STOP_LIMIT.' })
  type!: OrderType;

  @Field(() => DecimalScalar, { description: 'Quantity: > 0, a multiple of the lot size.' })
  quantity!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Required for LIMIT and STOP_LIMIT; on the tick grid.' })
  limitPrice?: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Required for STOP and STOP_LIMIT; on the tick grid.' })
  stopPrice?: string | null;

  @Field(() => TimeInForce, { nullable: true, description: 'Default DAY.' })
  timeInForce?: TimeInForce | null;

  @Field(() => String, { nullable: true, description: 'Idempotency key (1–64 of A-Z a-z 0-9 . _ : -). Same key, same order.' })
  clientOrderId?: string | null;
}

@ObjectType({ description: 'An order changed. `sequence` is the portfolio event number to resume from.' })
export class OrderEvent {
  @Field(() => Int, { description: 'Portfolio event sequence number.' })
  sequence!: number;

  @Field(() => Order, { description: 'The order as of this event.' })
  order!: Order;
}

@ObjectType({ description: 'An order was (partly) filled.' })
export class FillEvent {
  @Field(() => Int, { description: 'Portfolio event sequence number.' })
  sequence!: number;

  @Field(() => Fill, { description: 'The execution.' })
  fill!: Fill;

  @Field(() => Order, { description: 'The order as of this fill.' })
  order!: Order;
}
