import 'reflect-metadata';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { buildAppSchema } from '../schema/index.js';
import { guardInput } from './input-guard.js';

const LIMITS = { maxStringLength: 100 };
const UUID = '8f4e2a70-1c7d-4b7e-9a51-3d2f6c0b9e11';

describe('guardInput: literal arguments found once per document, checked on every call', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildAppSchema();
  });
  const guard = (doc: ReturnType<typeof parse>, variables: Record<string, unknown> = {}) => {
    const op = doc.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode;
    const e = guardInput(schema, doc, op, variables, LIMITS);
    return e ? { message: e.message, ...e.extensions } : null;
  };

  it('refuses a bad literal on every call with the same document, and in document order', () => {
    const doc = parse(`mutation { a: renameWatchlist(id: "${UUID}", name: "ok") { id } b: renameWatchlist(id: "nope", name: "${'x'.repeat(101)}") { id } }`);
    for (let i = 0; i < 3; i++) expect(guard(doc)).toMatchObject({ code: 'NOT_FOUND', field: 'id', id: 'nope' });
    const long = parse(`mutation { renameWatchlist(id: "${UUID}", name: "${'x'.repeat(101)}") { id } }`);
    expect(guard(long)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name', reason: 'TOO_LONG' });
    expect(guard(long)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name', reason: 'TOO_LONG' });
  });

  it('resolves the variables inside a literal input object afresh on each call', () => {
    const doc = parse(`mutation($s: String!) { placeOrder(input: { portfolioId: "${UUID}", symbol: $s, side: BUY, type: MARKET, quantity: "1" }) { id } }`);
    expect(guard(doc, { s: 'TCS' })).toBeNull();
    expect(guard(doc, { s: 'T\u0000CS' })).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NUL_CHARACTER' });
    expect(guard(doc, { s: 'INFY' })).toBeNull();
  });

  it('checks the declared variables as before, and passes a clean operation', () => {
    const doc = parse(`query($p: ID!) { portfolio(id: $p) { id orders(first: 20) { edges { node { id } } } } }`);
    expect(guard(doc, { p: UUID })).toBeNull();
    expect(guard(doc, { p: '42' })).toMatchObject({ code: 'NOT_FOUND', field: 'p' });
    expect(guard(doc, { p: UUID })).toBeNull();
  });
});
