import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startTestServer, type TestServer } from './support/server.js';
import { newUser } from './support/gql.js';
import { createFundedPortfolio, placeOrder, waitForQuote, waitForStatus } from './support/trading.js';

/**
 * GRAPHQL_EXECUTOR=jit (the default: graphql-jit, server/jit-executor.ts) against graphql-js: the same
 * operations, successful and failing, give the same HTTP status and the same JSON on two servers, once ids,
 * tokens, amounts and times are replaced by placeholders. The jit server runs an operation on graphql-js
 * the first time and compiled from the second, so each is asked there twice, and both answers compared.
 * The rest of the suite runs on the default executor.
 */
describe('GraphQL executors: jit and graphql-js answer alike (embedded)', () => {
  const servers: Record<'jit' | 'graphql-js', TestServer> = {} as never;
  const users: Record<string, { token: string; portfolio: string; order: string }> = {};

  beforeAll(async () => {
    for (const executor of ['jit', 'graphql-js'] as const) {
      const server = await startTestServer({ env: { GRAPHQL_EXECUTOR: executor } });
      servers[executor] = server;
      await waitForQuote(server, 'TCS');
      const u = await newUser(server);
      const portfolio = await createFundedPortfolio(server, u.token, { amount: '500000' });
      const order = await placeOrder(server, u.token, { portfolioId: portfolio, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: '3', clientOrderId: 'parity-1' });
      await waitForStatus(server, u.token, order.id, ['FILLED']);
      users[executor] = { token: u.token, portfolio, order: order.id };
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(servers).map((s) => s?.close()));
  });

  /** What one server answers, with its own ids, tokens, prices and times replaced by placeholders. */
  async function ask(executor: 'jit' | 'graphql-js', op: (u: (typeof users)[string]) => { query: string; variables?: unknown; auth?: boolean }) {
    const u = users[executor];
    const { query, variables, auth = true } = op(u);
    let req = request(servers[executor].url).post('/graphql').set('content-type', 'application/json');
    if (auth) req = req.set('authorization', `Bearer ${u.token}`);
    const res = await req.send({ query, variables });
    const text = JSON.stringify(res.body)
      .replaceAll(u.portfolio, '<portfolio>')
      .replaceAll(u.order, '<order>')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
      .replace(/"(price|averageFillPrice|fee|feesPaid|cash|availableCash|marketValue|averageCost|unrealizedPnl|marketPrice|totalValue)":"[^"]*"/g, '"$1":"<n>"')
      .replace(/"cursor":"[^"]*"/g, '"cursor":"<c>"')
      .replace(/\d+\.\d+/g, '<n>'); // amounts in messages and details (each server's market has its own prices)
    return { status: res.status, body: JSON.parse(text) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
  }

  const operations: [string, (u: (typeof users)[string]) => { query: string; variables?: unknown; auth?: boolean }, string | null][] = [
    [
      'a nested read with fragments, aliases, directives and __typename',
      (u) => ({
        query: `query($p:ID!, $with:Boolean!){ portfolio(id:$p){ __typename id ...Money positions { quantity averageCost instrument { symbol exchange } }
          recent: orders(first: 5) { edges { cursor node { id status side quantity filledQuantity averageFillPrice fills @include(if: $with) { quantity price fee } instrument @skip(if: $with) { symbol } } } pageInfo { hasNextPage } } } }
          fragment Money on Portfolio { cash availableCash }`,
        variables: { p: u.portfolio, with: true },
      }),
      null,
    ],
    ['no token', () => ({ query: '{ me { id email } }', auth: false }), 'UNAUTHENTICATED'],
    ['a domain error on a nested path', () => ({ query: `{ portfolio(id:"00000000-0000-4000-8000-000000000000"){ id } }` }), 'NOT_FOUND'],
    ['a wrong password', () => ({ query: `mutation{ login(email:"nobody@example.com", password:"wrong-password-123"){ accessToken } }`, auth: false }), 'INVALID_CREDENTIALS'],
    ['a missing required variable', () => ({ query: 'query($p:ID!){ portfolio(id:$p){ id } }', variables: {} }), 'BAD_USER_INPUT'],
    [
      'a variable of the wrong type, deep in an input',
      (u) => ({ query: 'mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }', variables: { i: { portfolioId: u.portfolio, symbol: 'TCS', side: 'SIDEWAYS', type: 'MARKET', quantity: '1' } } }),
      'BAD_USER_INPUT',
    ],
    [
      'a bad decimal in a variable',
      (u) => ({ query: 'mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }', variables: { i: { portfolioId: u.portfolio, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: 'lots' } } }),
      'BAD_USER_INPUT',
    ],
    [
      'an order refused by risk',
      (u) => ({ query: 'mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }', variables: { i: { portfolioId: u.portfolio, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: '1000' } } }),
      'INSUFFICIENT_FUNDS',
    ],
    [
      'a replayed client order id with a different body',
      (u) => ({ query: 'mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }', variables: { i: { portfolioId: u.portfolio, symbol: 'TCS', side: 'BUY', type: 'MARKET', quantity: '4', clientOrderId: 'parity-1' } } }),
      'IDEMPOTENCY_CONFLICT',
    ],
    ['an argument that fails validation', () => ({ query: 'mutation{ createWatchlist(name:""){ id } }' }), 'BAD_USER_INPUT'],
    ['an unknown field (validation, before execution)', () => ({ query: '{ me { id nope } }' }), 'GRAPHQL_VALIDATION_FAILED'],
  ];

  it.each(operations)('%s', async (_name, op, code) => {
    const first = await ask('jit', op);
    const jit = await ask('jit', op);
    const js = await ask('graphql-js', op);
    expect(jit).toEqual(js);
    expect(first).toEqual(js);
    if (code === null) {
      expect(jit.body.errors).toBeUndefined();
      expect(jit.body.data).toBeTruthy();
    } else {
      expect(jit.body.errors?.[0]?.extensions?.code).toBe(code);
    }
  });
});
