import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { errorCode, gql, must, newUser } from './support/gql.js';
import { createFundedPortfolio, waitForQuote } from './support/trading.js';
import { createSmallcase, invest, waitForRun } from './support/baskets.js';

const PAIR = [
  { symbol: 'ITC', weight: '0.5' },
  { symbol: 'WIPRO', weight: '0.5' },
];

async function count(server: TestServer, table: string): Promise<number> {
  const r = (await server.app.db.db.execute(sql.raw(`select count(*)::int as n from ${table}`))) as unknown as { rows?: { n: number }[] } | { n: number }[];
  return (Array.isArray(r) ? r : r.rows!)[0].n;
}

describe.each(modes())('baskets: access and bad input (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
    await waitForQuote(server, 'ITC');
    await waitForQuote(server, 'WIPRO');
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses every bad smallcase with BAD_USER_INPUT, its field and reason, and writes nothing', async () => {
    const u = await newUser(server);
    const cases: [unknown[], string, string][] = [
      [[{ symbol: 'ITC', weight: '0.5' }, { symbol: 'WIPRO', weight: '0.4' }], 'constituents', 'WEIGHTS_NOT_ONE'],
      [[{ symbol: 'ITC', weight: '1' }, { symbol: 'WIPRO', weight: '0' }], 'constituents[1].weight', 'INVALID_WEIGHT'],
      [[{ symbol: 'ITC', weight: '1.2' }, { symbol: 'WIPRO', weight: '-0.2' }], 'constituents[0].weight', 'INVALID_WEIGHT'],
      [[{ symbol: 'ITC', weight: '0.5' }, { symbol: 'ITC', weight: '0.5' }], 'constituents[1].symbol', 'DUPLICATE_SYMBOL'],
      [[{ symbol: 'NOPE', weight: '1' }], 'constituents[0].symbol', 'UNKNOWN_SYMBOL'],
      [[{ symbol: 'ITC', weight: '0.5' }, { symbol: 'AAPL', weight: '0.5' }], 'constituents[1].symbol', 'CURRENCY_MISMATCH'],
      [[], 'constituents', 'CONSTITUENT_COUNT'],
    ];
    const before = await count(server, 'smallcases');
    for (const [constituents, field, reason] of cases) {
      const r = await gql(server, `mutation($i:CreateSmallcaseInput!){ createSmallcase(input:$i){ id } }`, { i: { name: 'bad', constituents } }, u.token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(constituents)).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    }
    expect(await count(server, 'smallcases')).toBe(before);
  });

  it('refuses bad amounts, currencies and fractions with field and reason, writing no run', async () => {
    const u = await newUser(server);
    const inr = await createFundedPortfolio(server, u.token, { amount: '300000' });
    const usd = await createFundedPortfolio(server, u.token, { amount: '1000', currency: 'USD' });
    const sc = await createSmallcase(server, u.token, PAIR);
    const runsBefore = await count(server, 'basket_runs');
    const q = `mutation($s:ID!,$p:ID!,$a:Decimal!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:$a){ id } }`;
    for (const [p, a, field, reason] of [
      [inr, '0', 'amount', 'INVALID_AMOUNT'],
      [inr, '-100', 'amount', 'INVALID_AMOUNT'],
      [inr, '100.001', 'amount', 'INVALID_AMOUNT'],
      [usd, '50000', 'portfolioId', 'CURRENCY_MISMATCH'],
    ] as const) {
      const r = await gql(server, q, { s: sc.id, p, a }, u.token);
      expect(r.errors?.[0]?.extensions, `${a}`).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    }
    const notDecimal = await gql(server, q, { s: sc.id, p: inr, a: 'lots' }, u.token);
    expect(errorCode(notDecimal)).toBe('BAD_USER_INPUT');
    const poor = await createFundedPortfolio(server, u.token, { amount: '1000' });
    const broke = await gql(server, q, { s: sc.id, p: poor, a: '50000' }, u.token);
    expect(errorCode(broke)).toBe('INSUFFICIENT_FUNDS');
    expect(await count(server, 'basket_runs')).toBe(runsBefore);
    expect((await must<{ investments: unknown[] }>(server, `{ investments { id } }`, {}, u.token)).investments).toEqual([]);
  });

  it('hides another user’s private smallcase, investment and run as NOT_FOUND; a public smallcase is read by all and changed only by its owner', async () => {
    const owner = await newUser(server);
    const other = await newUser(server);
    const pid = await createFundedPortfolio(server, owner.token, { amount: '300000' });
    const otherPid = await createFundedPortfolio(server, other.token, { amount: '300000' });
    const priv = await createSmallcase(server, owner.token, PAIR);
    const pub = await createSmallcase(server, owner.token, PAIR, { visibility: 'PUBLIC', name: 'Public pair' });
    const inv = await invest(server, owner.token, priv.id, pid, '50000');
    const runId = inv.runs[0].id;
    await waitForRun(server, owner.token, runId);

    for (const [q, v] of [
      [`query($id:ID!){ smallcase(id:$id){ id } }`, { id: priv.id }],
      [`query($id:ID!){ investment(id:$id){ id } }`, { id: inv.id }],
      [`query($id:ID!){ basketRun(id:$id){ id } }`, { id: runId }],
      [`mutation($id:ID!){ rebalanceSmallcase(investmentId:$id){ id } }`, { id: inv.id }],
      [`mutation($id:ID!){ exitSmallcase(investmentId:$id, fraction:"1"){ id } }`, { id: inv.id }],
      [`mutation($id:ID!){ investMore(investmentId:$id, amount:"10000"){ id } }`, { id: inv.id }],
      [`mutation($id:ID!){ repairInvestment(investmentId:$id){ id } }`, { id: inv.id }],
      [`mutation($id:ID!){ archiveSmallcase(id:$id){ id } }`, { id: priv.id }],
      [`mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"50000"){ id } }`, { s: priv.id, p: otherPid }],
      [`mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"50000"){ id } }`, { s: pub.id, p: pid }],
    ] as const) {
      expect(errorCode(await gql(server, q, v, other.token)), q).toBe('NOT_FOUND');
    }
    const list = await must<{ smallcases: { id: string }[] }>(server, `{ smallcases { id } }`, {}, other.token);
    expect(list.smallcases.map((s) => s.id)).toContain(pub.id);
    expect(list.smallcases.map((s) => s.id)).not.toContain(priv.id);
    const read = await must<{ smallcase: { name: string } }>(server, `query($id:ID!){ smallcase(id:$id){ name } }`, { id: pub.id }, other.token);
    expect(read.smallcase.name).toBeTruthy();
    // Its owner is a user record like any other: NOT_FOUND to someone who may not see it, with nothing of it in the answer.
    for (const [q, v] of [
      [`query($id:ID!){ smallcase(id:$id){ name owner { id email name role createdAt } } }`, { id: pub.id }],
      [`{ smallcases { name owner { id email name role createdAt } } }`, {}],
    ] as const) {
      const r = await gql(server, q, v, other.token);
      expect(errorCode(r), q).toBe('NOT_FOUND');
      expect(JSON.stringify(r)).not.toContain(owner.id);
      expect(JSON.stringify(r)).not.toContain(owner.email);
    }
    const own = await must<{ smallcase: { owner: { id: string; email: string } } }>(server, `query($id:ID!){ smallcase(id:$id){ owner { id email } } }`, { id: pub.id }, owner.token);
    expect(own.smallcase.owner).toEqual({ id: owner.id, email: owner.email });
    const change = await gql(server, `mutation($id:ID!){ updateSmallcase(id:$id, input:{ name:"mine now" }){ id } }`, { id: pub.id }, other.token);
    expect(errorCode(change)).toBe('FORBIDDEN');
    // Anyone may invest in a public smallcase from their own portfolio.
    const theirs = await invest(server, other.token, pub.id, otherPid, '50000');
    expect(theirs.id).toBeTruthy();
    const archived = await must<{ archiveSmallcase: { archived: boolean } }>(server, `mutation($id:ID!){ archiveSmallcase(id:$id){ archived } }`, { id: pub.id }, owner.token);
    expect(archived.archiveSmallcase.archived).toBe(true);
    const late = await gql(server, `mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"50000"){ id } }`, { s: pub.id, p: otherPid }, other.token);
    expect(errorCode(late)).toBe('INVALID_STATE');
  });
});
