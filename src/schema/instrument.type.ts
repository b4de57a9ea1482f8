import { Field, ID, ObjectType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';

@ObjectType({ description: 'The latest quote for an instrument.' })
export class Quote {
  @Field(() => String, { description: 'Ticker symbol.' })
  symbol!: string;

  @Field(() => String, { description: 'Exchange code (NSE, NASDAQ, NYSE...).' })
  exchange!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Best bid.' })
  bid!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Best ask.' })
  ask!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Shares displayed at the best bid.' })
  bidSize!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Shares displayed at the best ask.' })
  askSize!: string | null;

  @Field(() => DecimalScalar, { description: 'Last traded price.' })
  last!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Volume traded today.' })
  volume!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the quote was taken.' })
  timestamp!: string;
}

@ObjectType({ description: 'A tradable listing: a symbol on an exchange.' })
export class Instrument {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'Ticker symbol, e.g. RELIANCE or AAPL.' })
  symbol!: string;

  @Field(() => String, { description: 'Exchange code.' })
  exchange!: string;

  @Field(() => String, { nullable: true, description: 'Company or fund name.' })
  name!: string | null;

  @Field(() => String, { description: 'ISO currency of prices (INR, USD).' })
  currency!: string;

  @Field(() => DecimalScalar, { description: 'Quantities must be a multiple of this.' })
  lotSize!: string;

  @Field(() => DecimalScalar, { description: 'Prices must be a multiple of this.' })
  tickSize!: string;

  @Field(() => Boolean, { description: 'Whether orders are accepted.' })
  tradable!: boolean;
}
