import { Field, ID, InputType, Int } from 'type-graphql';

@InputType({ description: 'Where a subscriber stands in one portfolio: the last event sequence it has seen there.' })
export class PortfolioCursorInput {
  @Field(() => ID, { description: 'A portfolio of yours.' })
  portfolioId!: string;

  @Field(() => Int, { description: 'The last sequence seen in that portfolio (0 for everything kept).' })
  sequence!: number;
}
