import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
export { ImportError, ImportResult } from './import.type.js';
import { DateTimeScalar, DecimalScalar } from './scalars.js';

export enum CandleInterval {
  M1 = 'M1',
  M5 = 'M5',
  M15 = 'M15',
  H1 = 'H1',
  D1 = 'D1',
}
registerEnumType(CandleInterval, {
  name: 'CandleInterval',
  description: 'Bar length: one, five or fifteen minutes, an hour, a day. Bars are aligned to UTC (a daily bar starts at 00:00 UTC).',
});

@ObjectType({ description: 'An OHLCV bar.' })
export class Candle {
  @Field(() => DateTimeScalar, { description: 'When the bar starts (UTC).' })
  time!: Date;
  @Field(() => DecimalScalar, { description: 'First trade price.' })
  open!: string;
  @Field(() => DecimalScalar, { description: 'Highest trade price.' })
  high!: string;
  @Field(() => DecimalScalar, { description: 'Lowest trade price.' })
  low!: string;
  @Field(() => DecimalScalar, { description: 'Last trade price.' })
  close!: string;
  @Field(() => DecimalScalar, { description: 'Shares traded in the bar.' })
  volume!: string;
}

@ObjectType({ description: 'One value of an indicator series, aligned to a candle.' })
export class IndicatorPoint {
  @Field(() => DateTimeScalar, { description: 'The candle it belongs to.' })
  time!: Date;
  @Field(() => Float, { nullable: true, description: 'The value; null while the indicator warms up (or where it is undefined, e.g. a division by zero). Conditions are 1 or 0.' })
  value!: number | null;
}


@ObjectType({ description: 'The verdict on a rule-language expression.' })
export class RuleCheck {
  @Field(() => Boolean, { description: 'Whether it parses and type-checks.' })
  valid!: boolean;
  @Field(() => String, { nullable: true, description: 'What is wrong, when it is not valid.' })
  message!: string | null;
  @Field(() => Int, { nullable: true, description: '1-based line of the error.' })
  line!: number | null;
  @Field(() => Int, { nullable: true, description: '1-based column of the error.' })
  column!: number | null;
  @Field(() => String, { nullable: true, description: 'The expression in canonical form, when valid.' })
  normalized!: string | null;
  @Field(() => String, { nullable: true, description: 'A stable reason code when invalid (PARSE_ERROR, UNKNOWN_INDICATOR, WRONG_ARITY, INVALID_PERIOD, PERIOD_TOO_LARGE, TYPE_ERROR, TOO_COMPLEX).' })
  reason!: string | null;
  @Field(() => String, { nullable: true, description: "'number' or 'boolean' (a condition), when valid." })
  type!: string | null;
  @Field(() => Int, { nullable: true, description: 'Bars needed before its value can be trusted, when valid.' })
  warmup!: number | null;
}
