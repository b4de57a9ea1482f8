import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';
import { Instrument } from './instrument.type.js';

@ObjectType({ description: 'A holding in one instrument, valued at the latest quote.' })
export class Position {
  portfolioId!: string;
  instrumentId!: string;

  @Field(() => Instrument, { description: 'What is held.' })
  instrument!: Instrument;

  @Field(() => DecimalScalar, { description: 'Quantity held (the sum of fills).' })
  quantity!: string;

  @Field(() => DecimalScalar, { description: 'Average cost per unit of what is held.' })
  averageCost!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Latest price.' })
  marketPrice!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'quantity × marketPrice.' })
  marketValue!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: '(marketPrice − averageCost) × quantity.' })
  unrealizedPnl!: string | null;

  @Field(() => DecimalScalar, { description: 'Profit or loss realised by sales (before fees).' })
  realizedPnl!: string;
}

@ObjectType({ description: 'A portfolio: cash in one currency, positions, and orders at one broker.' })
export class Portfolio {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'Name, unique per owner.' })
  name!: string;

  ownerId!: string;

  @Field(() => String, { description: "Broker this portfolio trades through ('paper' by default)." })
  broker!: string;

  @Field(() => String, { description: 'Currency of its cash and of the instruments it may trade.' })
  baseCurrency!: string;

  @Field(() => DateTimeScalar, { description: 'When it was created.' })
  createdAt!: Date;

  @Field(() => Int, { description: 'Sequence number of its latest event (resume subscriptions after it).' })
  eventSequence!: number;
}

@ObjectType({ description: 'Cash changed. `sequence` is the portfolio event number.' })
export class BalanceEvent {
  @Field(() => Int, { description: 'Portfolio event sequence number.' })
  sequence!: number;

  @Field(() => ID, { description: 'Portfolio.' })
  portfolioId!: string;

  @Field(() => DecimalScalar, { description: 'Settled cash after the change.' })
  cash!: string;

  @Field(() => DecimalScalar, { description: 'Cash minus holds for open buys.' })
  availableCash!: string;

  @Field(() => String, { description: 'DEPOSIT, WITHDRAWAL, ORDER_HOLD, FILL, ORDER_CANCELED, ...' })
  reason!: string;
}

@ObjectType({ description: 'A position changed.' })
export class PositionEvent {
  @Field(() => Int, { description: 'Portfolio event sequence number.' })
  sequence!: number;

  @Field(() => ID, { description: 'Portfolio.' })
  portfolioId!: string;

  @Field(() => Position, { description: 'The position after the change.' })
  position!: Position;
}
