import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, must, newUser, waitFor, wsClient } from './support/gql.js';
import { createFundedPortfolio } from './support/trading.js';

type BalanceEv = { balanceChanged: { sequence: number; portfolioId: string; cash: string } };
const ALL = `subscription($c:[PortfolioCursorInput!]){ balanceChanged(after:$c){ sequence portfolioId cash } }`;

describe.each(modes())('replay that cannot miss: per-portfolio cursors (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MARKET_SIM: 'false' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const deposit = (token: string, pid: string, amount: string) =>
    must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: pid, a: amount }, token);

  it('resumes two portfolios from their own cursors after a dropped socket, skipping nothing and repeating nothing', async () => {
    const u = await newUser(server);
    const a = await createFundedPortfolio(server, u.token, { amount: '0' });
    const b = await createFundedPortfolio(server, u.token, { amount: '0' });
    // Portfolio a runs ahead of b, so one shared number would skip b's events (the bug this prevents).
    for (const amt of ['1', '2', '3', '4']) await deposit(u.token, a, amt);
    await deposit(u.token, b, '100');

    const ws1 = wsClient(server, u.token);
    const first = collect<BalanceEv>(ws1, ALL, { c: [{ portfolioId: a, sequence: 0 }, { portfolioId: b, sequence: 0 }] });
    await waitFor('the five replayed events', () => first.items.length === 5);
    await deposit(u.token, b, '200');
    await waitFor('a live event of b', () => first.items.length === 6);
    const cursor = (pid: string) => Math.max(...first.items.filter((e) => e.balanceChanged.portfolioId === pid).map((e) => e.balanceChanged.sequence));
    const seen = { a: cursor(a), b: cursor(b) };
    expect(seen.a).toBeGreaterThan(seen.b);
    await ws1.terminate(); // dropped: no goodbye

    await deposit(u.token, b, '300');
    await deposit(u.token, a, '5');
    await deposit(u.token, b, '400');

    const ws2 = wsClient(server, u.token);
    const resumed = collect<BalanceEv>(ws2, ALL, { c: [{ portfolioId: a, sequence: seen.a }, { portfolioId: b, sequence: seen.b }] });
    await waitFor('the three missed events', () => resumed.items.length === 3);
    await deposit(u.token, a, '6');
    await waitFor('then live', () => resumed.items.length === 4);

    const of = (pid: string) => resumed.items.filter((e) => e.balanceChanged.portfolioId === pid);
    expect(of(b).map((e) => Number(e.balanceChanged.cash))).toEqual([600, 1000]);
    expect(of(a).map((e) => Number(e.balanceChanged.cash))).toEqual([15, 21]);
    for (const [pid, last] of [[a, seen.a], [b, seen.b]] as const) {
      const seqs = of(pid).map((e) => e.balanceChanged.sequence);
      expect(seqs[0]).toBe(last + 1); // the very next one: nothing skipped
      expect(seqs).toEqual([...new Set(seqs)].sort((x, y) => x - y));
    }
    expect(resumed.errors).toEqual([]);
    await ws2.dispose();
  });

  it('refuses afterSequence without portfolioId (BAD_USER_INPUT) and another user’s cursor (NOT_FOUND)', async () => {
    const u = await newUser(server);
    const other = await newUser(server);
    const theirs = await createFundedPortfolio(server, other.token, { amount: '0' });
    const ws = wsClient(server, u.token);
    const bare = collect(ws, `subscription{ orderUpdated(afterSequence: 3){ sequence } }`);
    const foreign = collect(ws, ALL, { c: [{ portfolioId: theirs, sequence: 0 }] });
    const both = collect(ws, `subscription($p:ID){ balanceChanged(portfolioId:$p, afterSequence: 1, after: [{ portfolioId: $p, sequence: 1 }]){ sequence } }`, {
      p: theirs,
    });
    await waitFor('three refusals', () => bare.errors.length > 0 && foreign.errors.length > 0 && both.errors.length > 0);
    expect(JSON.stringify(bare.errors)).toMatch(/BAD_USER_INPUT/);
    expect(JSON.stringify(bare.errors)).toMatch(/PORTFOLIO_REQUIRED/);
    expect(JSON.stringify(foreign.errors)).toMatch(/NOT_FOUND/);
    expect(JSON.stringify(both.errors)).toMatch(/BAD_USER_INPUT/);
    await ws.dispose();
  });
});
