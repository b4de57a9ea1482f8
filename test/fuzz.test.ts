import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, gql, must, waitFor, wsClient } from './support/gql.js';
import { buildAppSchema } from '../src/schema/index.js';
import { runFuzz, setupFuzzWorld } from '../bench/lib/fuzz-run.js';

describe.each(modes())('fuzz: operations generated from the schema with hostile values (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 500 hostile operations without a 5xx, an INTERNAL_SERVER_ERROR, an uncoded error or a leak, and stays up', async () => {
    const world = await setupFuzzWorld(server.url);
    const report = await runFuzz({ url: server.url, schema: await buildAppSchema(), world, count: 500, concurrency: 8, seed: 6, maxDepth: server.config.limits.maxDepth });
    expect(report.failures, JSON.stringify(report.failures.slice(0, 5), null, 1)).toEqual([]);
    expect(report.ops).toBe(500);
    // The values really were hostile: most answers are refusals with a code.
    expect((report.tally.BAD_USER_INPUT ?? 0) + (report.tally.NOT_FOUND ?? 0)).toBeGreaterThan(100);
    const me = await must<{ me: { id: string } }>(server, '{ me { id } }', {}, world.token);
    expect(me.me.id).toMatch(/^[0-9a-f-]{36}$/);
  }, 420_000);

  it('answers a malformed id with NOT_FOUND and a NUL in a string with BAD_USER_INPUT, literal or variable', async () => {
    const world = await setupFuzzWorld(server.url);
    const lit = await gql(server, '{ portfolio(id: "abc") { id } }', {}, world.token);
    expect(lit.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const v = await gql(server, 'query($id: ID!){ order(id: $id) { id } }', { id: 'x'.repeat(5000) }, world.token);
    expect(v.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const nul = await gql(server, '{ quote(symbol: "\\u0000") { last } }', {}, world.token);
    expect(nul.status).toBe(400);
    expect(nul.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'symbol', reason: 'NUL_CHARACTER' });
    const nested = await gql(server, 'mutation($i: PlaceOrderInput!){ placeOrder(input: $i) { id } }', {
      i: { portfolioId: world.ids.own[0], symbol: `SB${'\u0000'}IN`, side: 'BUY', type: 'MARKET', quantity: '1' },
    }, world.token);
    expect(nested.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'i.symbol', reason: 'NUL_CHARACTER' });
    const long = await gql(server, 'query($s: String!){ quote(symbol: $s) { last } }', { s: 'A'.repeat(30_000) }, world.token);
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_LONG' });

    // The same guard on a socket, for subscriptions too.
    const ws = wsClient(server, world.token);
    const q = collect(ws, '{ portfolio(id: "abc") { id } }');
    const sub = collect(ws, 'subscription($s: [String!]!){ quotes(symbols: $s) { last } }', { s: ['\u0000'] });
    await waitFor('both refused', () => q.errors.length > 0 && sub.errors.length > 0);
    expect(JSON.stringify(q.errors)).toMatch(/NOT_FOUND/);
    expect(JSON.stringify(sub.errors)).toMatch(/NUL_CHARACTER/);
    expect(JSON.stringify(sub.errors)).not.toMatch(/http/);
    await ws.dispose();
  });
});
