import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';
import { OrderSide, OrderStatus, PageInfo } from './order.type.js';

@ObjectType({ description: 'A pooled master account: one broker account trading for many member portfolios, their orders aggregated per window and netted.' })
export class PooledAccount {
  @Field(() => ID, { description: 'Pooled account id; pass it to createPortfolio(pooledAccountId) to create a member portfolio.' })
  id!: string;

  @Field(() => String, { description: 'Its name (unique).' })
  name!: string;

  @Field(() => String, { description: "The broker adapter the parent orders go to ('paper', or a connection's broker)." })
  broker!: string;

  @Field(() => Int, { description: 'Aggregation window in milliseconds: members’ market orders wait until the window closes.' })
  windowMs!: number;
}

@ObjectType({ description: 'One parent order: the net of a window’s member orders in one instrument, sent to the broker as one order.' })
export class ParentOrder {
  @Field(() => ID, { description: 'Parent order id (its client order id at the broker is `pool-<id>`).' })
  id!: string;

  @Field(() => OrderSide, { description: 'The net side (BUY when the window netted to zero and nothing was sent).' })
  side!: OrderSide;

  @Field(() => DecimalScalar, { description: 'Quantity sent to the broker: |buys − sells| (0 when everything crossed).' })
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Quantity the broker filled so far.' })
  filledQuantity!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Volume-weighted price of the broker fills.' })
  averageFillPrice!: string | null;

  @Field(() => OrderStatus, { description: 'Status at the broker (FILLED at once when nothing was sent).' })
  status!: OrderStatus;

  @Field(() => DecimalScalar, { description: 'Quantity matched internally between buys and sells: min(buys, sells).' })
  crossedQuantity!: string;

  @Field(() => DateTimeScalar, { description: 'When its window closed.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A page of parent orders, newest first.' })
export class ParentOrderConnection {
  @Field(() => [ParentOrderEdge], { description: 'The parent orders on this page.' })
  edges!: ParentOrderEdge[];

  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'A parent order in a page.' })
export class ParentOrderEdge {
  @Field(() => String, { description: 'Opaque cursor for `after`.' })
  cursor!: string;

  @Field(() => ParentOrder, { description: 'The parent order.' })
  node!: ParentOrder;
}

@ObjectType({ description: 'One instrument of a reconciliation: the broker account’s position against the sum of the members’ positions.' })
export class ReconciliationLine {
  @Field(() => DecimalScalar, { description: 'Position at the broker account.' })
  brokerQuantity!: string;

  @Field(() => DecimalScalar, { description: 'Sum of the member portfolios’ positions.' })
  ledgerQuantity!: string;

  @Field(() => DecimalScalar, { description: 'brokerQuantity − ledgerQuantity (0 when they agree).' })
  difference!: string;
}
