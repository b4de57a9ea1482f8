import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'One line an import could not take.' })
export class ImportError {
  @Field(() => Int, { description: 'The line: 1-based (for CSV files the header is line 1; for lists, the position in the list).' })
  line!: number;

  @Field(() => String, { description: 'What is wrong with it.' })
  message!: string;
}

@ObjectType({ description: 'What an import did.' })
export class ImportResult {
  @Field(() => Int, { description: 'Lines imported now (for candles, a bar already stored is replaced).' })
  imported!: number;

  @Field(() => Int, { description: 'Lines not imported: already there unchanged (a re-import changes nothing), or refused (see errors).' })
  skipped!: number;

  @Field(() => [ImportError], { description: 'Lines refused, with their line numbers.' })
  errors!: ImportError[];
}

@ObjectType({ description: "What importing a broker's instrument master did." })
export class InstrumentImportResult {
  @Field(() => Int, { description: 'Broker instruments stored (new or updated); a symbol listed twice counts once.' })
  imported!: number;

  @Field(() => Int, { description: 'Of those, how many were matched to one of our instruments (by exchange + symbol, else ISIN).' })
  matched!: number;

  @Field(() => Int, { description: 'Lines not stored: refused (see errors) or an earlier listing of a symbol listed again.' })
  skipped!: number;

  @Field(() => [ImportError], { description: 'Lines refused, with their line numbers (CSV: file lines; JSON: positions in the array).' })
  errors!: ImportError[];
}
