import { Field, Float, ID, ObjectType } from 'type-graphql';
import { DateTimeScalar, DecimalScalar } from './scalars.js';
import { Instrument, Quote } from './instrument.type.js';

@ObjectType({ description: 'An instrument on a watchlist, with its live quote and the day’s change.' })
export class WatchlistItem {
  instrumentId!: string;

  @Field(() => Instrument, { description: 'The instrument.' })
  instrument!: Instrument;

  @Field(() => String, { nullable: true, description: 'Your note.' })
  note!: string | null;

  @Field(() => DateTimeScalar, { description: 'When it was added.' })
  addedAt!: Date;

  @Field(() => Quote, { nullable: true, description: 'The latest quote.' })
  quote!: Quote | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'last − the day’s opening price.' })
  dayChange!: string | null;

  @Field(() => Float, { nullable: true, description: 'dayChange as a percentage of the day’s opening price.' })
  dayChangePercent!: number | null;
}

@ObjectType({ description: 'A named list of instruments to watch (at most 200).' })
export class Watchlist {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'Name (unique among yours).' })
  name!: string;

  @Field(() => DateTimeScalar, { description: 'Created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'Last changed.' })
  updatedAt!: Date;
}
