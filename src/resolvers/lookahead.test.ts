import { describe, expect, it } from 'vitest';
import { parse, type FragmentDefinitionNode, type OperationDefinitionNode, type FieldNode } from 'graphql';
import { selectedFields } from './lookahead.js';

/** The resolve info of the first root field of `query`, as graphql-js hands it to that field's resolver. */
function infoOf(query: string) {
  const doc = parse(query);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
  const fragments = Object.fromEntries(doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === 'FragmentDefinition').map((f) => [f.name.value, f]));
  const field = op.selectionSet.selections[0] as FieldNode;
  return { fieldNodes: [field], fragments };
}

describe('selectedFields: what a query asks for below a field', () => {
  it('lists the direct fields of a plain selection', () => {
    expect(selectedFields(infoOf('{ portfolio(id: "x") { id cash positions { quantity } } }'))).toEqual(new Set(['id', 'cash', 'positions']));
  });

  it('follows inline fragments and named fragments, nested ones too', () => {
    const info = infoOf(`{ portfolio(id: "x") { id ... on Portfolio { availableCash } ...A } }
      fragment A on Portfolio { marketValue ...B }
      fragment B on Portfolio { totalValue }`);
    expect(selectedFields(info)).toEqual(new Set(['id', 'availableCash', 'marketValue', 'totalValue']));
  });

  it('walks a path through lists and connections, merging every occurrence of each step', () => {
    const info = infoOf(`{ orders(first: 2) { edges { node { id } } ...E } }
      fragment E on OrderConnection { edges { node { ... on Order { fills { price } } } } }`);
    expect(selectedFields(info, ['edges', 'node'])).toEqual(new Set(['id', 'fills']));
    expect(selectedFields(info, ['edges', 'node', 'fills'])).toEqual(new Set(['price']));
  });

  it('counts a field under @skip or @include as asked for (reading too much is harmless)', () => {
    expect(selectedFields(infoOf('{ portfolio(id: "x") { cash @skip(if: true) } }'))).toEqual(new Set(['cash']));
  });

  it('gives nothing for a path the query does not take, or a leaf', () => {
    expect(selectedFields(infoOf('{ orders(first: 2) { pageInfo { hasNextPage } } }'), ['edges', 'node']).size).toBe(0);
    expect(selectedFields(infoOf('{ me }')).size).toBe(0);
  });

  it('walks a fragment spread twice in one selection once', () => {
    const info = infoOf(`{ portfolio(id: "x") { ...A ...A } } fragment A on Portfolio { cash }`);
    expect(selectedFields(info)).toEqual(new Set(['cash']));
  });
});
