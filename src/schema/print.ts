import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildAppSchema } from './index.js';

/** Where the printed contract lives, relative to the repository root. */
export const SCHEMA_FILE = 'schema.graphql';

const HEADER = '# The GraphQL contract of TradeGraph, printed from the code by `npm run schema:print`. Do not edit by hand.\n\n';

/** The schema as SDL, sorted by name so that parallel additions print in a stable order. */
export function printContract(schema: GraphQLSchema): string {
  return HEADER + printSchema(lexicographicSortSchema(schema)) + '\n';
}

export async function printAppSchema(): Promise<string> {
  return printContract(await buildAppSchema());
}
