import { backtests } from '../../src/db/schema/index.js';
import type { TestServer } from './server.js';
import { must, newUser } from './gql.js';
import { createApiKey, type setupFirm } from './people.js';
import { createFundedPortfolio, placeOrder, waitForStatus } from './trading.js';
import { invest, waitForRun } from './baskets.js';
import type { Fixture } from './access-matrix.js';

type Firm = Awaited<ReturnType<typeof setupFirm>>;

/** An Angel One client registered at the broker fake (completeBrokerConnection logs in with it). */
export const ANGEL = { clientCode: 'MX1234', apiKey: 'matrix-key', pin: '2468', totp: '135790' };

/** Daily bars of TCS and INFY in January–February 2025: strategies evaluate them, backtests replay them. */
export function dailyBarsCsv(base: number): string {
  const lines = ['time,open,high,low,close,volume'];
  const start = Date.UTC(2025, 0, 1);
  for (let d = 0; d < 60; d++) {
    const c = base + (d % 7) * 3 + d;
    lines.push(`${new Date(start + d * 86_400_000).toISOString()},${c - 1},${c + 2},${c - 2},${c},${1000 + d}`);
  }
  return lines.join('\n');
}

const STRATEGY = `mutation($i:CreateStrategyInput!){ createStrategy(input:$i){ id } }`;
const rules = (name: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'RULES', rules: { entry: 'close > 0' }, interval: 'D1', universe: { symbols: ['TCS'] }, mode: 'SIGNAL_ONLY', ...extra });

/**
 * The owner's world for the matrix, and helpers that make fresh state as the owner for operations that
 * consume it (an order to cancel, an investment to exit, a signal to decide...). `secretName` is in the
 * names of the owner's portfolio, watchlist, strategy and private smallcase: no refused caller may see it.
 */
export async function buildFixture(server: TestServer, firm: Firm, secretName: string): Promise<Fixture> {
  const owner = firm.owner;
  const q = <T = Record<string, any>>(doc: string, vars: Record<string, unknown> = {}, token = owner.token) => must<T>(server, doc, vars, token);
  let n = 0;
  const unique = () => `m-${Date.now()}-${++n}`;

  for (const [symbol, base] of [['TCS', 3500], ['INFY', 1500]] as const) {
    await q(`mutation($s:String!,$c:String!){ importCandles(symbol:$s, interval:D1, csv:$c){ imported } }`, { s: symbol, c: dailyBarsCsv(base) }, firm.admin.token);
  }

  const pid = (await q(`mutation($n:String!){ createPortfolio(name:$n){ id } }`, { n: secretName })).createPortfolio.id as string;
  await q(`mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: pid });
  const line = { portfolioId: pid, symbol: 'TCS', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1.00' };
  const order = await placeOrder(server, owner.token, line);
  const proposal = async () =>
    (await q(`mutation($i:ProposalInput!){ createProposal(input:$i){ id } }`, { i: { portfolioId: pid, rationale: 'matrix', lines: [{ symbol: 'TCS', side: 'BUY', quantity: '1', type: 'LIMIT', limitPrice: '1.00' }] } }, firm.advisorA.token)).createProposal.id as string;
  const smallcaseId = (await q(`mutation { createSmallcase(input: { name: "Matrix", visibility: PUBLIC, constituents: [{ symbol: "TCS", weight: "1" }] }) { id } }`, {}, firm.advisorA.token)).createSmallcase.id as string;
  const privateSmallcase = async (name = unique()) =>
    (await q(`mutation($n:String!){ createSmallcase(input: { name: $n, visibility: PRIVATE, constituents: [{ symbol: "TCS", weight: "0.5" }, { symbol: "INFY", weight: "0.5" }] }) { id } }`, { n: name })).createSmallcase.id as string;
  const inv = (await q(`mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"20000"){ id runs { id } } }`, { s: smallcaseId, p: pid })).investInSmallcase;
  const watchlist = async (name = unique()) => (await q(`mutation($n:String!){ createWatchlist(name:$n, symbols:["TCS"]){ id } }`, { n: name })).createWatchlist.id as string;
  const strategy = async (name = unique(), extra: Record<string, unknown> = {}) => (await q(STRATEGY, { i: rules(name, extra) })).createStrategy.id as string;
  const strategyId = await strategy(`${secretName}-st`);

  /** A fresh funded portfolio of the owner with a completed investment in the public smallcase. */
  const investment = async () => {
    const p = await createFundedPortfolio(server, owner.token, { amount: '200000' });
    const i = await invest(server, owner.token, smallcaseId, p, '20000');
    await waitForRun(server, owner.token, i.runs[0].id);
    return i.id as string;
  };
  /** An investment made OUT_OF_SYNC by selling shares it holds directly (repairInvestment restores it). */
  const outOfSync = async () => {
    const id = await investment();
    const held = (await q(`query($id:ID!){ investment(id:$id){ portfolio { id } holdings { quantity } } }`, { id })).investment;
    const sell = await placeOrder(server, owner.token, { portfolioId: held.portfolio.id, symbol: 'TCS', side: 'SELL', type: 'MARKET', quantity: String(Math.max(1, Math.floor(Number(held.holdings[0].quantity) / 2))) });
    await waitForStatus(server, owner.token, sell.id, ['FILLED']);
    return id;
  };
  /** A PENDING_APPROVAL signal of a fresh APPROVAL strategy of the owner. */
  const signal = async () => {
    const sid = await strategy(unique(), { mode: 'APPROVAL', portfolioId: pid });
    const run = (await q(`mutation($id:ID!){ runStrategyNow(id:$id){ signals { id status } } }`, { id: sid })).runStrategyNow;
    const s = run.signals.find((x: { status: string }) => x.status === 'PENDING_APPROVAL');
    if (!s) throw new Error(`no signal to approve: ${JSON.stringify(run)}`);
    return s.id as string;
  };
  /** A QUEUED backtest of the owner that no worker will pick up (cancelBacktest cancels it deterministically). */
  const queuedBacktest = async () => {
    const [row] = await server.app.db.db
      .insert(backtests)
      .values({ ownerId: owner.id, status: 'QUEUED', input: { definition: rules('queued'), from: '2025-01-01T00:00:00.000Z', to: '2025-02-01T00:00:00.000Z', initialCash: '100000', feeRate: '0', slippageBps: 0 }, createdAt: new Date() })
      .returning();
    return row!.id;
  };
  /** A PENDING Angel One connection of the owner (completed with the fake's PIN and TOTP). */
  const connection = async () =>
    (await q(`mutation($c:JSON!){ startBrokerConnection(broker:"angelone", credentials:$c){ connection { id } } }`, { c: { apiKey: ANGEL.apiKey, clientCode: ANGEL.clientCode } })).startBrokerConnection.connection.id as string;

  const backtestId = (
    await q(`mutation($i:BacktestInput!){ runBacktest(input:$i){ id } }`, { i: { strategyId, from: '2025-01-01T00:00:00Z', to: '2025-03-01T00:00:00Z', initialCash: '100000' } })
  ).runBacktest.id as string;
  const screenerId = (await q(`mutation($n:String!){ createScreener(input:{ name:$n, kind:TOP_GAINERS, universe:{ symbols:["TCS","INFY"] } }){ id } }`, { n: `${secretName}-scr` })).createScreener.id as string;
  const pooledAccountId = (await q(`mutation($n:String!){ createPooledAccount(name:$n, broker:"paper"){ id } }`, { n: unique() }, firm.admin.token)).createPooledAccount.id as string;

  let person: ReturnType<typeof newUser> | undefined;
  return {
    person: () => (person ??= newUser(server, 'matrix')),
    ownerId: owner.id,
    advisorId: firm.advisorA.id,
    watchlistId: await watchlist(`${secretName}-wl`),
    strategyId,
    smallcaseId,
    privateSmallcaseId: await privateSmallcase(`${secretName}-sc`),
    investmentId: inv.id,
    runId: inv.runs[0].id,
    portfolioId: pid,
    orderId: order.id,
    proposalId: await proposal(),
    backtestId,
    screenerId,
    pooledAccountId,
    signalId: await signal(),
    connectionId: await connection(),
    fresh: {
      order: async () => (await placeOrder(server, owner.token, line)).id,
      proposal,
      apiKey: async () => (await createApiKey(server, owner, ['READ'])).id,
      webhook: async () => (await q(`mutation { createWebhook(url:"http://127.0.0.1:9/h", events:["order.filled"]){ webhook { id } } }`)).createWebhook.webhook.id,
      client: async () => (await newUser(server, 'matrix')).id,
      person: () => newUser(server, 'matrix'),
      watchlist: () => watchlist(),
      strategy: () => strategy(),
      portfolio: () => createFundedPortfolio(server, owner.token, { amount: '200000' }),
      investment,
      outOfSync,
      signal,
      queuedBacktest,
      connection,
      smallcase: () => privateSmallcase(),
    },
    unique,
  };
}
