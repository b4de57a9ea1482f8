import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, waitFor, wsClient } from './support/gql.js';
import { adminEmail, setupFirm } from './support/people.js';
import { waitForQuote, waitForStatus } from './support/trading.js';

const PROPOSAL = 'id status rationale warnings smallcaseId amount decisionReason expiresAt decidedAt advisor { id } client { id } portfolio { id } lines { instrument { symbol } side quantity estimatedPrice estimatedValue } orders { id status side }';
const CREATE = `mutation($i:ProposalInput!){ createProposal(input:$i){ ${PROPOSAL} } }`;
const SET_PROFILE = `mutation($p:ID!,$i:InvestmentProfileInput!){ setInvestmentProfile(portfolioId:$p, input:$i){ id investmentProfile { riskLevel horizonYears objectives maxPositionWeight excludedSymbols } } }`;

describe.each(modes())('investment profiles and advisor proposals (%s)', (mode) => {
  let server: TestServer;
  let firm: Awaited<ReturnType<typeof setupFirm>>;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    firm = await setupFirm(server);
    await waitForQuote(server, 'RELIANCE');
    await waitForQuote(server, 'TCS');
  }, 180_000);
  afterAll(async () => {
    await server?.close();
  });

  it('lets the owner and their advisor set the profile; others may not', async () => {
    const input = { riskLevel: 'MODERATE', horizonYears: 7, objectives: 'retirement', maxPositionWeight: '0.05', excludedSymbols: ['itc', 'ITC'] };
    const byOwner = await must(server, SET_PROFILE, { p: firm.portfolioId, i: input }, firm.owner.token);
    expect(byOwner.setInvestmentProfile.investmentProfile).toEqual({ riskLevel: 'MODERATE', horizonYears: 7, objectives: 'retirement', maxPositionWeight: '0.05', excludedSymbols: ['ITC'] });
    const byAdvisor = await must(server, SET_PROFILE, { p: firm.portfolioId, i: { ...input, riskLevel: 'BALANCED' } }, firm.advisorA.token);
    expect(byAdvisor.setInvestmentProfile.investmentProfile.riskLevel).toBe('BALANCED');
    expect(errorCode(await gql(server, SET_PROFILE, { p: firm.portfolioId, i: input }, firm.advisorB.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(server, SET_PROFILE, { p: firm.portfolioId, i: input }, firm.admin.token))).toBe('FORBIDDEN');
    const bad = await gql(server, SET_PROFILE, { p: firm.portfolioId, i: { ...input, maxPositionWeight: '1.5' } }, firm.owner.token);
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'maxPositionWeight' });
    await must(server, SET_PROFILE, { p: firm.portfolioId, i: input }, firm.owner.token);
  });

  it('warns on suitability, pushes to both sides, and places the orders once on approval', async () => {
    const clientWs = wsClient(server, firm.owner.token);
    const advisorWs = wsClient(server, firm.advisorA.token);
    const toClient = collect<{ proposalUpdated: { id: string; status: string } }>(clientWs, `subscription { proposalUpdated { id status } }`);
    const toAdvisor = collect<{ proposalUpdated: { id: string; status: string } }>(advisorWs, `subscription { proposalUpdated { id status warnings } }`);
    const otherAdvisorWs = wsClient(server, firm.advisorB.token);
    const toOther = collect<{ proposalUpdated: { id: string } }>(otherAdvisorWs, `subscription { proposalUpdated { id } }`);
    // Subscriptions are live once a probe proposal reaches them (no fixed sleep); the probes are then withdrawn.
    const probe = async (advisor: typeof firm.advisorA, portfolioId: string, seen: () => boolean) => {
      const ids: string[] = [];
      await waitFor('the subscriptions to be live', async () => {
        const p = await must(server, CREATE, { i: { portfolioId, rationale: 'probe', lines: [{ symbol: 'TCS', side: 'BUY', quantity: '1' }] } }, advisor.token);
        ids.push(p.createProposal.id);
        await new Promise((r) => setTimeout(r, 200));
        return seen();
      });
      for (const id of ids) await must(server, `mutation($id:ID!){ cancelProposal(id:$id){ id } }`, { id }, advisor.token);
    };
    await probe(firm.advisorA, firm.portfolioId, () => toClient.items.length > 0 && toAdvisor.items.length > 0);
    await probe(firm.advisorB, firm.otherPortfolioId, () => toOther.items.length > 0);

    const lines = [
      { symbol: 'RELIANCE', side: 'BUY', quantity: '100' },
      { symbol: 'ITC', side: 'BUY', quantity: '1', type: 'LIMIT', limitPrice: '1.00' },
    ];
    const created = (await must(server, CREATE, { i: { portfolioId: firm.portfolioId, rationale: 'Add energy exposure', lines } }, firm.advisorA.token)).createProposal;
    expect(created).toMatchObject({ status: 'PENDING', advisor: { id: firm.advisorA.id }, client: { id: firm.owner.id }, portfolio: { id: firm.portfolioId } });
    expect(created.warnings.some((w: string) => w.startsWith('EXCLUDED_SYMBOL: ITC'))).toBe(true);
    expect(created.warnings.some((w: string) => w.startsWith('POSITION_WEIGHT: RELIANCE'))).toBe(true);
    expect(created.lines.map((l: { instrument: { symbol: string } }) => l.instrument.symbol)).toEqual(['RELIANCE', 'ITC']);

    // Who may propose: the owner's advisor only.
    expect(errorCode(await gql(server, CREATE, { i: { portfolioId: firm.portfolioId, rationale: 'x', lines } }, firm.advisorB.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(server, CREATE, { i: { portfolioId: firm.portfolioId, rationale: 'x', lines } }, firm.owner.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(server, CREATE, { i: { portfolioId: firm.portfolioId, rationale: 'x', lines } }, firm.admin.token))).toBe('FORBIDDEN');
    // Only the client decides.
    expect(errorCode(await gql(server, `mutation($id:ID!){ approveProposal(id:$id){ id } }`, { id: created.id }, firm.advisorA.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(server, `mutation($id:ID!){ approveProposal(id:$id){ id } }`, { id: created.id }, firm.otherClient.token))).toBe('NOT_FOUND');

    const APPROVE = `mutation($id:ID!,$k:String){ approveProposal(id:$id, clientRequestId:$k){ ${PROPOSAL} } }`;
    const approved = (await must(server, APPROVE, { id: created.id, k: 'approve-1' }, firm.owner.token)).approveProposal;
    expect(approved.status).toBe('EXECUTED');
    expect(approved.orders).toHaveLength(2);
    const again = (await must(server, APPROVE, { id: created.id, k: 'approve-1' }, firm.owner.token)).approveProposal;
    expect(again.orders.map((o: { id: string }) => o.id).sort()).toEqual(approved.orders.map((o: { id: string }) => o.id).sort());
    expect(errorCode(await gql(server, APPROVE, { id: created.id, k: 'approve-2' }, firm.owner.token))).toBe('INVALID_STATE');
    const n = await server.app.db.db.execute(sql`select count(*)::int as n from orders where client_order_id like ${`proposal-${created.id}-%`}`);
    expect(JSON.stringify(n)).toMatch(/"n":2/);
    // The market line trades through the ordinary order loop; the limit line far below market rests.
    const sides = approved.orders.map((o: { side: string }) => o.side);
    expect(sides).toEqual(['BUY', 'BUY']);
    for (const o of approved.orders as { id: string }[]) await waitForStatus(server, firm.owner.token, o.id, ['FILLED', 'OPEN']);

    await waitFor('both sides to hear of creation and approval', () =>
      [toClient, toAdvisor].every((c) => c.items.some((i) => i.proposalUpdated.id === created.id && i.proposalUpdated.status === 'EXECUTED')),
    );
    expect(toClient.items.find((i) => i.proposalUpdated.id === created.id)!.proposalUpdated.status).toBe('PENDING');
    expect(toOther.items.some((i) => i.proposalUpdated.id === created.id)).toBe(false);
    // The advisor was told of the decision, the client of the proposal.
    const advisorNotes = await must(server, `{ notifications { edges { node { kind data } } } }`, {}, firm.advisorA.token);
    await waitFor('the decision notification', async () =>
      (await must(server, `{ notifications { edges { node { kind data } } } }`, {}, firm.advisorA.token)).notifications.edges.some((e: { node: { kind: string } }) => e.node.kind === 'proposal.decided'),
    );
    expect(advisorNotes).toBeTruthy();
    await waitFor('the received notification', async () =>
      (await must(server, `{ notifications { edges { node { kind } } } }`, {}, firm.owner.token)).notifications.edges.some((e: { node: { kind: string } }) => e.node.kind === 'proposal.received'),
    );
    for (const ws of [clientWs, advisorWs, otherAdvisorWs]) await ws.dispose();
  });

  it('rejects, cancels and expires, each only once and only by the right person', async () => {
    const lines = [{ symbol: 'TCS', side: 'BUY', quantity: '1' }];
    const make = async (extra: Record<string, unknown> = {}) =>
      (await must(server, CREATE, { i: { portfolioId: firm.portfolioId, rationale: 'Quality IT', lines, ...extra } }, firm.advisorA.token)).createProposal;

    const r = await make();
    const rejected = await must(server, `mutation($id:ID!){ rejectProposal(id:$id, reason:"Not now"){ status decisionReason decidedAt } }`, { id: r.id }, firm.owner.token);
    expect(rejected.rejectProposal).toMatchObject({ status: 'REJECTED', decisionReason: 'Not now' });
    expect(errorCode(await gql(server, `mutation($id:ID!){ approveProposal(id:$id){ id } }`, { id: r.id }, firm.owner.token))).toBe('INVALID_STATE');

    const c = await make();
    expect(errorCode(await gql(server, `mutation($id:ID!){ cancelProposal(id:$id){ id } }`, { id: c.id }, firm.owner.token))).toBe('FORBIDDEN');
    expect((await must(server, `mutation($id:ID!){ cancelProposal(id:$id){ status } }`, { id: c.id }, firm.advisorA.token)).cancelProposal.status).toBe('CANCELED');
    expect(errorCode(await gql(server, `mutation($id:ID!){ cancelProposal(id:$id){ id } }`, { id: c.id }, firm.advisorA.token))).toBe('INVALID_STATE');

    const e = await make({ expiresAt: new Date(Date.now() + 1500).toISOString() });
    await waitFor('expiry time', () => Date.now() > new Date(e.expiresAt).getTime() + 50, 5000);
    expect(errorCode(await gql(server, `mutation($id:ID!){ approveProposal(id:$id){ id } }`, { id: e.id }, firm.owner.token))).toBe('INVALID_STATE');
    const seen = await must(server, `query($id:ID!){ proposal(id:$id){ status decidedAt } }`, { id: e.id }, firm.owner.token);
    expect(seen.proposal.status).toBe('EXPIRED');
    expect(errorCode(await gql(server, CREATE, { i: { portfolioId: firm.portfolioId, rationale: 'x', lines, expiresAt: '2020-01-01T00:00:00Z' } }, firm.advisorA.token))).toBe('BAD_USER_INPUT');

    const list = await must(server, `{ proposals(status: REJECTED) { edges { node { id } } } }`, {}, firm.owner.token);
    expect(list.proposals.edges.map((x: { node: { id: string } }) => x.node.id)).toContain(r.id);
    const others = (await must(server, `{ proposals { edges { node { id client { id } } } } }`, {}, firm.otherClient.token)).proposals.edges;
    expect(others.every((x: { node: { client: { id: string } } }) => x.node.client.id === firm.otherClient.id)).toBe(true);
    expect(others.map((x: { node: { id: string } }) => x.node.id)).not.toContain(r.id);
    expect(errorCode(await gql(server, `query($id:ID!){ proposal(id:$id){ id } }`, { id: r.id }, firm.advisorB.token))).toBe('NOT_FOUND');
  });

  it("proposes a smallcase to all of an advisor's clients with per-client warnings", async () => {
    const scId = (
      await must(
        server,
        `mutation { createSmallcase(input: { name: "Core IT", visibility: PUBLIC, constituents: [{ symbol: "TCS", weight: "0.5" }, { symbol: "INFY", weight: "0.5" }] }) { id } }`,
        {},
        firm.advisorA.token,
      )
    ).createSmallcase.id as string;
    const d = await must(
      server,
      `mutation($s:ID!){ proposeSmallcaseToClients(smallcaseId:$s, amount:"500000", rationale:"Core IT basket"){ id status smallcaseId amount warnings client { id } portfolio { id } } }`,
      { s: scId },
      firm.advisorA.token,
    );
    expect(d.proposeSmallcaseToClients).toHaveLength(1);
    expect(d.proposeSmallcaseToClients[0]).toMatchObject({ status: 'PENDING', smallcaseId: scId, amount: '500000.00', client: { id: firm.owner.id }, portfolio: { id: firm.portfolioId } });
    expect(d.proposeSmallcaseToClients[0].warnings.some((w: string) => w.startsWith('POSITION_WEIGHT'))).toBe(true);
    // The client approves: a basket run is placed, linked to the proposal, once per clientRequestId.
    const APPROVE = `mutation($id:ID!,$k:String){ approveProposal(id:$id, clientRequestId:$k){ id status runId } }`;
    const id = d.proposeSmallcaseToClients[0].id;
    const approved = (await must(server, APPROVE, { id, k: 'sc-1' }, firm.owner.token)).approveProposal;
    expect(approved.status).toBe('EXECUTED');
    expect(approved.runId).toBeTruthy();
    expect((await must(server, APPROVE, { id, k: 'sc-1' }, firm.owner.token)).approveProposal.runId).toBe(approved.runId);
    const viaProposal = await must(server, `query($id:ID!){ proposal(id:$id){ smallcase { id name } run { id kind } } }`, { id }, firm.owner.token);
    expect(viaProposal.proposal).toMatchObject({ smallcase: { id: scId, name: 'Core IT' }, run: { id: approved.runId, kind: 'INVEST' } });
    const run = await must(server, `query($r:ID!){ basketRun(id:$r){ id kind portfolio { id } orders { id } } }`, { r: approved.runId }, firm.owner.token);
    expect(run.basketRun).toMatchObject({ kind: 'INVEST', portfolio: { id: firm.portfolioId } });
    expect(run.basketRun.orders.length).toBeGreaterThan(0);
    // When the run ends, its owner is told, with the execution summary.
    await waitFor('the basket_run.completed notification', async () =>
      (await must(server, `{ notifications { edges { node { kind data } } } }`, {}, firm.owner.token)).notifications.edges.some(
        (e: { node: { kind: string; data: { runId: string } } }) => e.node.kind === 'basket_run.completed' && e.node.data.runId === approved.runId,
      ),
    20_000);
    // Another advisor's client, a client, and a smallcase you may not use: refused.
    expect(errorCode(await gql(server, `mutation($s:ID!,$c:[ID!]){ proposeSmallcaseToClients(smallcaseId:$s, clientIds:$c, amount:"1", rationale:"x"){ id } }`, { s: scId, c: [firm.otherClient.id] }, firm.advisorA.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(server, `mutation($s:ID!){ proposeSmallcaseToClients(smallcaseId:$s, amount:"1", rationale:"x"){ id } }`, { s: scId }, firm.owner.token))).toBe('FORBIDDEN');
    const privateId = (await must(server, `mutation { createSmallcase(input: { name: "Mine", constituents: [{ symbol: "TCS", weight: "1" }] }) { id } }`, {}, firm.advisorA.token)).createSmallcase.id;
    expect(errorCode(await gql(server, `mutation($s:ID!){ proposeSmallcaseToClients(smallcaseId:$s, amount:"1", rationale:"x"){ id } }`, { s: privateId }, firm.advisorB.token))).toBe('NOT_FOUND');
  });
});
