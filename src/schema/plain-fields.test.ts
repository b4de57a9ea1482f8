import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { GraphQLObjectType, execute, parse } from 'graphql';
import { buildAppSchema } from './index.js';

describe('plain fields read their property with no per-field wrapper', () => {
  it('drops the wrapper of plain fields and keeps every field resolver, argument and root field', async () => {
    const schema = await buildAppSchema();
    const type = (name: string) => schema.getType(name) as GraphQLObjectType;
    // Plain fields of rows: graphql's default resolver.
    expect(type('Order').getFields().side.resolve).toBeUndefined();
    // Some type has a `status` field resolver: by the conservative rule every `status` keeps its wrapper.
    expect(type('Order').getFields().status.resolve).toBeTypeOf('function');
    expect(type('Fill').getFields().price.resolve).toBeUndefined();
    expect(type('Position').getFields().quantity.resolve).toBeUndefined();
    expect(type('Instrument').getFields().symbol.resolve).toBeUndefined();
    // Field resolvers, fields with arguments and the root types keep theirs.
    expect(type('Order').getFields().instrument.resolve).toBeTypeOf('function');
    expect(type('Order').getFields().fills.resolve).toBeTypeOf('function');
    expect(type('Portfolio').getFields().cash.resolve).toBeTypeOf('function');
    expect(type('Portfolio').getFields().orders.resolve).toBeTypeOf('function');
    expect(type('Position').getFields().instrument.resolve).toBeTypeOf('function');
    for (const f of Object.values(schema.getQueryType()!.getFields())) expect(f.resolve, f.name).toBeTypeOf('function');
    for (const f of Object.values(schema.getMutationType()!.getFields())) expect(f.resolve, f.name).toBeTypeOf('function');
  });

  it('answers plain fields from the row the service returns, beside field resolvers', async () => {
    const schema = await buildAppSchema();
    const row = { id: 'o-1', portfolioId: 'p-1', instrumentId: 'i-1', status: 'FILLED', side: 'BUY', quantity: '5.00000000', filledQuantity: '5.00000000' };
    const contextValue = {
      principal: { userId: 'u-1', role: 'CLIENT' },
      // No instrument cached: the field goes through the request's loader.
      services: { orders: { get: async () => row }, instruments: { cached: () => undefined } },
      loaders: {
        fills: { load: async () => [{ price: '101.50000000', quantity: '5.00000000' }] },
        instrument: { load: async () => ({ id: 'i-1', symbol: 'TCS', name: 'Tata Consultancy', exchange: 'NSE' }) },
      },
    };
    const r = await execute({ schema, document: parse('{ order(id: "o-1") { id status side quantity filledQuantity instrument { symbol } fills { price quantity } } }'), contextValue });
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({
      order: { id: 'o-1', status: 'FILLED', side: 'BUY', quantity: '5.00', filledQuantity: '5.00', instrument: { symbol: 'TCS' }, fills: [{ price: '101.50', quantity: '5.00' }] },
    });
  });
});
