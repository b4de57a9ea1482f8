import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { adminEmail, createApiKey, setupFirm } from './support/people.js';
import { placeOrder } from './support/trading.js';
import { ACTORS, READERS, ROWS, expectedRefusal, type Actor, type Fixture, type MatrixRow } from './support/access-matrix.js';

/** Every operation × every caller, from one table (test/support/access-matrix.ts). */
describe.each(modes())('the access matrix (%s)', (mode) => {
  let server: TestServer;
  let firm: Awaited<ReturnType<typeof setupFirm>>;
  let fx: Fixture;
  let secretName: string;
  const tokens = {} as Record<Actor, string | null>;

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail(), WEBHOOK_ALLOW_PRIVATE: 'true' } });
    firm = await setupFirm(server);
    secretName = `secret-${Math.random().toString(36).slice(2)}`;
    const pid = (await must(server, `mutation($n:String!){ createPortfolio(name:$n){ id } }`, { n: secretName }, firm.owner.token)).createPortfolio.id as string;
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: pid }, firm.owner.token);
    const line = { portfolioId: pid, symbol: 'TCS', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1.00' };
    const order = await placeOrder(server, firm.owner.token, line);
    const proposal = async () =>
      (await must(server, `mutation($i:ProposalInput!){ createProposal(input:$i){ id } }`, { i: { portfolioId: pid, rationale: 'matrix', lines: [{ symbol: 'TCS', side: 'BUY', quantity: '1', type: 'LIMIT', limitPrice: '1.00' }] } }, firm.advisorA.token)).createProposal.id as string;
    const smallcaseId = (await must(server, `mutation { createSmallcase(input: { name: "Matrix", visibility: PUBLIC, constituents: [{ symbol: "TCS", weight: "1" }] }) { id } }`, {}, firm.advisorA.token)).createSmallcase.id as string;
    const inv = (await must(server, `mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"20000"){ id runs { id } } }`, { s: smallcaseId, p: pid }, firm.owner.token)).investInSmallcase;
    const watchlistId = (await must(server, `mutation($n:String!){ createWatchlist(name:$n, symbols:["TCS"]){ id } }`, { n: `${secretName}-wl` }, firm.owner.token)).createWatchlist.id as string;
    const strategyId = (
      await must(
        server,
        `mutation($i:CreateStrategyInput!){ createStrategy(input:$i){ id } }`,
        { i: { name: `${secretName}-st`, kind: 'RULES', rules: { entry: 'close > 0' }, interval: 'D1', universe: { symbols: ['TCS'] }, mode: 'SIGNAL_ONLY' } },
        firm.owner.token,
      )
    ).createStrategy.id as string;
    let n = 0;
    const freshWatchlist = async () => (await must(server, `mutation($n:String!){ createWatchlist(name:$n, symbols:["TCS"]){ id } }`, { n: `wl-${Date.now()}-${++n}` }, firm.owner.token)).createWatchlist.id as string;
    const freshStrategy = async () =>
      (
        await must(
          server,
          `mutation($i:CreateStrategyInput!){ createStrategy(input:$i){ id } }`,
          { i: { name: `st-${Date.now()}-${++n}`, kind: 'RULES', rules: { entry: 'close > 0' }, interval: 'D1', universe: { symbols: ['TCS'] }, mode: 'SIGNAL_ONLY' } },
          firm.owner.token,
        )
      ).createStrategy.id as string;
    fx = {
      advisorId: firm.advisorA.id,
      watchlistId,
      strategyId,
      smallcaseId,
      investmentId: inv.id,
      runId: inv.runs[0].id,
      portfolioId: pid,
      orderId: order.id,
      proposalId: await proposal(),
      fresh: {
        order: async () => (await placeOrder(server, firm.owner.token, line)).id,
        proposal,
        apiKey: async () => (await createApiKey(server, firm.owner, ['READ'])).id,
        webhook: async () => (await must(server, `mutation { createWebhook(url:"http://127.0.0.1:9/h", events:["order.filled"]){ webhook { id } } }`, {}, firm.owner.token)).createWebhook.webhook.id,
        client: async () => (await newUser(server, 'matrix')).id,
        watchlist: freshWatchlist,
        strategy: freshStrategy,
      },
      unique: () => `m-${Date.now()}-${++n}`,
    };
    Object.assign(tokens, {
      owner: firm.owner.token,
      otherClient: firm.otherClient.token,
      ownersAdvisor: firm.advisorA.token,
      otherAdvisor: firm.advisorB.token,
      admin: firm.admin.token,
      anonymous: null,
      readKey: firm.readKey.token,
      tradeKey: firm.tradeKey.token,
    });
  }, 180_000);
  afterAll(async () => {
    await server?.close();
  });

  /** Nothing of the owner reaches a caller who may not read it: not the email, the id, or the portfolio's name. */
  function assertNoLeak(actor: Actor, body: unknown) {
    if (READERS.includes(actor)) return;
    const text = JSON.stringify(body);
    for (const secret of [firm.owner.email, firm.owner.id, secretName]) expect(text, `${actor} saw ${secret}`).not.toContain(secret);
  }

  async function runHttp(row: MatrixRow, actor: Actor) {
    const vars = (await row.vars?.(fx, actor)) ?? {};
    return gql(server, row.doc, vars, tokens[actor] ?? undefined);
  }

  async function runSocket(row: MatrixRow, actor: Actor) {
    const vars = (await row.vars?.(fx, actor)) ?? {};
    const client = wsClient(server, tokens[actor]);
    const sub = collect(client, row.doc, vars);
    try {
      if (row.expectEvent || !row.allowed.includes(actor)) {
        await waitFor(`${row.name} as ${actor}`, () => sub.items.length > 0 || sub.errors.length > 0 || sub.isDone(), 20_000);
      } else {
        // Allowed with nothing to replay: it must stay open without an error.
        await new Promise((r) => setTimeout(r, 300));
      }
      return { items: sub.items, errors: sub.errors, done: sub.isDone() };
    } finally {
      sub.dispose();
      await client.dispose();
    }
  }

  for (const row of ROWS) {
    for (const actor of ACTORS) {
      const allowed = row.allowed.includes(actor);
      it(`${row.kind} ${row.name} × ${actor} → ${allowed ? 'allowed' : `refused (${expectedRefusal(row, actor)})`}`, async () => {
        if (row.kind === 'subscription') {
          const r = await runSocket(row, actor);
          assertNoLeak(actor, r);
          if (allowed) {
            expect(r.errors).toEqual([]);
            if (row.expectEvent) expect(r.items.length).toBeGreaterThan(0);
          } else {
            const text = JSON.stringify(r.errors, (_k, v) => (v && typeof v === 'object' && 'code' in v && 'reason' in v ? { code: v.code } : v));
            // Anonymous sockets are closed with 4403 at connection_init; others get the GraphQL error.
            if (actor === 'anonymous') expect(text).toContain('4403');
            else expect(text).toContain(expectedRefusal(row, actor));
            expect(r.items).toEqual([]);
          }
          return;
        }
        const r = await runHttp(row, actor);
        assertNoLeak(actor, r);
        if (allowed) {
          expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
        } else {
          expect(r.errors?.[0]?.extensions?.code).toBe(expectedRefusal(row, actor));
          const data = r.data as Record<string, unknown> | undefined;
          expect(data == null || Object.values(data).every((v) => v === null)).toBe(true);
        }
      });
    }
  }
});
