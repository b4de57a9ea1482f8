/**
 * The access matrix: one row per operation (query, mutation, subscription), each saying which callers
 * are allowed. The test (test/people.access-matrix.test.ts) runs every row for every caller and checks
 * allowed/refused, the refusal code, and that nothing of the owner leaks to callers who may not see it.
 *
 * To cover an operation merged from another branch, append a row: `doc` is the GraphQL document, `vars`
 * builds its variables from the fixture (use `fresh` to make state the operation consumes, such as an
 * order to cancel, once per caller).
 */
export const ACTORS = ['owner', 'otherClient', 'ownersAdvisor', 'otherAdvisor', 'admin', 'anonymous', 'readKey', 'tradeKey'] as const;
export type Actor = (typeof ACTORS)[number];

/** Who may read the owner's things (the policy's `read`, plus the owner's own keys). */
export const READERS: Actor[] = ['owner', 'ownersAdvisor', 'admin', 'readKey', 'tradeKey'];
/** Everyone signed in (any role, any key). */
export const SIGNED_IN: Actor[] = ACTORS.filter((a) => a !== 'anonymous');
/** Everyone signed in who may mutate (not a READ key). */
export const MAY_MUTATE: Actor[] = SIGNED_IN.filter((a) => a !== 'readKey');

/** What the rows may use: the owner's objects and helpers that make fresh ones as the owner. */
export interface Fixture {
  ownerId: string;
  portfolioId: string;
  orderId: string;
  /** The owner's watchlist and strategy (their own, not shared with advisors). */
  watchlistId: string;
  strategyId: string;
  /** The owner's advisor. */
  advisorId: string;
  proposalId: string;
  /** A public smallcase (made by the owner's advisor) and the owner's investment in it, with its run. */
  smallcaseId: string;
  investmentId: string;
  runId: string;
  /** The owner's private smallcase, backtest, screener, pending signal and broker connection; an admin's pooled account. */
  privateSmallcaseId: string;
  backtestId: string;
  screenerId: string;
  signalId: string;
  connectionId: string;
  pooledAccountId: string;
  /** One user of their own (not the owner), made on first use: signing in as them consumes nothing. */
  person(): Promise<{ email: string; password: string; refreshToken: string; id: string }>;
  /** Make something fresh for one caller (an order to cancel, a proposal to decide...). */
  fresh: {
    order(): Promise<string>;
    proposal(): Promise<string>;
    apiKey(): Promise<string>;
    webhook(): Promise<string>;
    client(): Promise<string>;
    /** A new user of their own (not the owner): its credentials and tokens. */
    person(): Promise<{ email: string; password: string; refreshToken: string; id: string }>;
    watchlist(): Promise<string>;
    strategy(): Promise<string>;
    /** A fresh funded portfolio of the owner. */
    portfolio(): Promise<string>;
    /** A completed investment of the owner in its own fresh portfolio; `outOfSync` one sold from directly. */
    investment(): Promise<string>;
    outOfSync(): Promise<string>;
    signal(): Promise<string>;
    queuedBacktest(): Promise<string>;
    connection(): Promise<string>;
    /** A private smallcase of the owner. */
    smallcase(): Promise<string>;
  };
  unique(): string;
}

export type Code = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';

export interface MatrixRow {
  name: string;
  kind: 'query' | 'mutation' | 'subscription';
  doc: string;
  vars?: (fx: Fixture, actor: Actor) => Promise<Record<string, unknown>> | Record<string, unknown>;
  allowed: readonly Actor[];
  /** Refused callers who get FORBIDDEN (they may see the object but not do this); others get `otherwise`. */
  forbidden?: readonly Actor[];
  /** The code for the remaining refused callers (default NOT_FOUND). Anonymous is always UNAUTHENTICATED. */
  otherwise?: Code;
  /** Subscriptions: an allowed caller must receive at least one event (a replay), not just no error. */
  expectEvent?: boolean;
  /**
   * Callable without signing in (login, register...): the row acts on a user of its own, so no caller,
   * the owner included, may see anything of the owner in its answer.
   */
  public?: boolean;
}

/** The owner and the owner's keys: for what is the owner's alone (strategies, backtests, screeners, broker connections). */
export const OWN: Actor[] = ['owner', 'readKey', 'tradeKey'];
/** Everyone, signed in or not, except a READ key (every mutation refuses it). */
export const ANYONE: Actor[] = ACTORS.filter((a) => a !== 'readKey');

/**
 * Fresh state for the callers a row allows (they consume it); refused callers are turned away before
 * any state matters, so they try the owner's shared object (and would change it if wrongly allowed).
 */
export function freshFor(allowed: readonly Actor[], key: string, make: (f: Fixture) => Promise<string>, shared: (f: Fixture) => string) {
  return async (f: Fixture, a: Actor) => ({ [key]: allowed.includes(a) ? await make(f) : shared(f) });
}

const TRADERS: Actor[] = ['owner', 'tradeKey'];
const CSV_BAR = 'time,open,high,low,close,volume\n2024-06-03T00:00:00Z,10,11,9,10.5,100';

const LINE = [{ symbol: 'TCS', side: 'BUY', quantity: '1', type: 'LIMIT', limitPrice: '1.00' }];

export const ROWS: MatrixRow[] = [
  // ── queries
  { name: 'me', kind: 'query', doc: `{ me { id email role } }`, allowed: SIGNED_IN },
  { name: 'portfolios (own list)', kind: 'query', doc: `{ portfolios { id name } }`, allowed: SIGNED_IN },
  { name: 'portfolio', kind: 'query', doc: `query($p:ID!){ portfolio(id:$p){ id name cash availableCash positions { quantity } orders { edges { node { id } } } investmentProfile { riskLevel } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS },
  { name: 'order', kind: 'query', doc: `query($o:ID!){ order(id:$o){ id status portfolio { name } fills { id } } }`, vars: (f) => ({ o: f.orderId }), allowed: READERS },
  { name: 'Portfolio.owner.portfolios (nested)', kind: 'query', doc: `query($p:ID!){ portfolio(id:$p){ owner { email portfolios { name } } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS },
  { name: 'users', kind: 'query', doc: `{ users { edges { node { id email } } } }`, allowed: ['ownersAdvisor', 'otherAdvisor', 'admin'], otherwise: 'FORBIDDEN' },
  { name: 'User.clients (own)', kind: 'query', doc: `{ me { clients { id email } } }`, allowed: SIGNED_IN },
  { name: 'apiKeys', kind: 'query', doc: `{ apiKeys { id prefix } }`, allowed: SIGNED_IN },
  { name: 'auditLog', kind: 'query', doc: `{ auditLog(first: 5) { edges { node { id action } } } }`, allowed: ['admin'], otherwise: 'FORBIDDEN' },
  { name: 'verifyAuditLog', kind: 'query', doc: `{ verifyAuditLog { valid } }`, allowed: ['admin'], otherwise: 'FORBIDDEN' },
  { name: 'proposals (own list)', kind: 'query', doc: `{ proposals { edges { node { id rationale } } } }`, allowed: SIGNED_IN },
  { name: 'proposal', kind: 'query', doc: `query($id:ID!){ proposal(id:$id){ id rationale portfolio { name } } }`, vars: (f) => ({ id: f.proposalId }), allowed: READERS },
  { name: 'notifications', kind: 'query', doc: `{ notifications { edges { node { id title } } } }`, allowed: SIGNED_IN },
  { name: 'notificationPreferences', kind: 'query', doc: `{ notificationPreferences { type inApp } }`, allowed: SIGNED_IN },
  { name: 'webhooks', kind: 'query', doc: `{ webhooks { id url } }`, allowed: SIGNED_IN },

  // ── mutations
  { name: 'createPortfolio', kind: 'mutation', doc: `mutation($n:String!){ createPortfolio(name:$n){ id } }`, vars: (f) => ({ n: f.unique() }), allowed: MAY_MUTATE },
  { name: 'deposit', kind: 'mutation', doc: `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1"){ id } }`, vars: (f) => ({ p: f.portfolioId }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'withdraw', kind: 'mutation', doc: `mutation($p:ID!){ withdraw(portfolioId:$p, amount:"1"){ id } }`, vars: (f) => ({ p: f.portfolioId }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'placeOrder', kind: 'mutation', doc: `mutation($p:ID!){ placeOrder(input:{ portfolioId:$p, symbol:"TCS", side:BUY, type:LIMIT, quantity:"1", limitPrice:"1.00" }){ id } }`, vars: (f) => ({ p: f.portfolioId }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'cancelOrder', kind: 'mutation', doc: `mutation($o:ID!){ cancelOrder(id:$o){ id } }`, vars: async (f) => ({ o: await f.fresh.order() }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'setInvestmentProfile', kind: 'mutation', doc: `mutation($p:ID!){ setInvestmentProfile(portfolioId:$p, input:{ riskLevel: BALANCED }){ id } }`, vars: (f) => ({ p: f.portfolioId }), allowed: ['owner', 'ownersAdvisor', 'tradeKey'], forbidden: ['admin'] },
  { name: 'createProposal', kind: 'mutation', doc: `mutation($i:ProposalInput!){ createProposal(input:$i){ id } }`, vars: (f) => ({ i: { portfolioId: f.portfolioId, rationale: 'matrix', lines: LINE } }), allowed: ['ownersAdvisor'], forbidden: ['owner', 'admin', 'tradeKey'] },
  { name: 'approveProposal', kind: 'mutation', doc: `mutation($id:ID!){ approveProposal(id:$id){ id } }`, vars: async (f) => ({ id: await f.fresh.proposal() }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'rejectProposal', kind: 'mutation', doc: `mutation($id:ID!){ rejectProposal(id:$id){ id } }`, vars: async (f) => ({ id: await f.fresh.proposal() }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'cancelProposal', kind: 'mutation', doc: `mutation($id:ID!){ cancelProposal(id:$id){ id } }`, vars: async (f) => ({ id: await f.fresh.proposal() }), allowed: ['ownersAdvisor'], forbidden: ['owner', 'admin', 'tradeKey'] },
  { name: 'setUserRole', kind: 'mutation', doc: `mutation($u:ID!){ setUserRole(userId:$u, role:CLIENT){ id } }`, vars: async (f) => ({ u: await f.fresh.client() }), allowed: ['admin'], otherwise: 'FORBIDDEN' },
  { name: 'assignAdvisor', kind: 'mutation', doc: `mutation($u:ID!){ assignAdvisor(clientId:$u, advisorId:null){ id } }`, vars: async (f) => ({ u: await f.fresh.client() }), allowed: ['admin'], otherwise: 'FORBIDDEN' },
  { name: 'createApiKey', kind: 'mutation', doc: `mutation { createApiKey(name:"m", scopes:[READ]){ secret } }`, allowed: ['owner', 'otherClient', 'ownersAdvisor', 'otherAdvisor', 'admin'], otherwise: 'FORBIDDEN' },
  { name: 'revokeApiKey', kind: 'mutation', doc: `mutation($id:ID!){ revokeApiKey(id:$id){ id } }`, vars: async (f) => ({ id: await f.fresh.apiKey() }), allowed: ['owner'], forbidden: ['tradeKey'] },
  { name: 'createWebhook', kind: 'mutation', doc: `mutation { createWebhook(url:"http://127.0.0.1:9/hook", events:["order.filled"]){ secret } }`, allowed: MAY_MUTATE },
  { name: 'deleteWebhook', kind: 'mutation', doc: `mutation($id:ID!){ deleteWebhook(id:$id) }`, vars: async (f) => ({ id: await f.fresh.webhook() }), allowed: ['owner', 'tradeKey'] },
  { name: 'markNotificationsRead', kind: 'mutation', doc: `mutation { markNotificationsRead }`, allowed: MAY_MUTATE },
  { name: 'setNotificationPreference', kind: 'mutation', doc: `mutation { setNotificationPreference(type:"order.filled", email:false){ type } }`, allowed: MAY_MUTATE },

  // ── baskets (merged from h/baskets)
  { name: 'investments', kind: 'query', doc: `query($p:ID){ investments(portfolioId:$p){ id portfolio { name } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS },
  { name: 'investment', kind: 'query', doc: `query($id:ID!){ investment(id:$id){ id status } }`, vars: (f) => ({ id: f.investmentId }), allowed: READERS },
  { name: 'basketRun', kind: 'query', doc: `query($id:ID!){ basketRun(id:$id){ id kind orders { id } } }`, vars: (f) => ({ id: f.runId }), allowed: READERS },
  { name: 'previewInvestment', kind: 'query', doc: `query($s:ID!,$p:ID!){ previewInvestment(smallcaseId:$s, portfolioId:$p, amount:"20000"){ investedAmount } }`, vars: (f) => ({ s: f.smallcaseId, p: f.portfolioId }), allowed: READERS }, // a read, like the other two previews
  { name: 'investInSmallcase', kind: 'mutation', doc: `mutation($s:ID!,$p:ID!){ investInSmallcase(smallcaseId:$s, portfolioId:$p, amount:"20000"){ id } }`, vars: (f) => ({ s: f.smallcaseId, p: f.portfolioId }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },

  // ── analytics, watchlists, strategies, broker connections (merged from their branches)
  { name: 'performance', kind: 'query', doc: `query($p:ID!){ performance(portfolioId:$p){ endValue metrics { totalReturn } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS },
  { name: 'investmentPerformance', kind: 'query', doc: `query($id:ID!){ investmentPerformance(investmentId:$id){ endValue } }`, vars: (f) => ({ id: f.investmentId }), allowed: READERS },
  { name: 'watchlists (own list)', kind: 'query', doc: `{ watchlists { id name } }`, allowed: SIGNED_IN },
  { name: 'createWatchlist', kind: 'mutation', doc: `mutation($n:String!){ createWatchlist(name:$n){ id } }`, vars: (f) => ({ n: f.unique() }), allowed: MAY_MUTATE },
  { name: 'strategies (own list)', kind: 'query', doc: `{ strategies { id name } }`, allowed: SIGNED_IN },
  { name: 'watchlist', kind: 'query', doc: `query($id:ID!){ watchlist(id:$id){ id name items { instrument { symbol } } } }`, vars: (f) => ({ id: f.watchlistId }), allowed: ['owner', 'admin', 'readKey', 'tradeKey'] }, // admins oversee: they read any watchlist
  { name: 'renameWatchlist', kind: 'mutation', doc: `mutation($id:ID!,$n:String!){ renameWatchlist(id:$id, name:$n){ id } }`, vars: (f) => ({ id: f.watchlistId, n: f.unique() }), allowed: ['owner', 'tradeKey'], forbidden: ['admin'] }, // admins read other users' watchlists but do not change them
  { name: 'strategy', kind: 'query', doc: `query($id:ID!){ strategy(id:$id){ id name } }`, vars: (f) => ({ id: f.strategyId }), allowed: ['owner', 'readKey', 'tradeKey'] },
  { name: 'pauseStrategy', kind: 'mutation', doc: `mutation($id:ID!){ pauseStrategy(id:$id){ id } }`, vars: (f) => ({ id: f.strategyId }), allowed: ['owner', 'tradeKey'] },
  { name: 'brokerConnections (own list)', kind: 'query', doc: `{ brokerConnections { id status } }`, allowed: SIGNED_IN },

  { name: 'smallcases (public and own)', kind: 'query', doc: `{ smallcases { id name } }`, allowed: SIGNED_IN },
  { name: 'screeners (own list)', kind: 'query', doc: `{ screeners { id name } }`, allowed: SIGNED_IN },
  { name: 'brokers', kind: 'query', doc: `{ brokers { name authFlow } }`, allowed: SIGNED_IN },
  { name: 'validateRule', kind: 'query', doc: `{ validateRule(expression:"close > sma(close, 20)") { valid } }`, allowed: SIGNED_IN },
  { name: 'candles', kind: 'query', doc: `{ candles(symbol:"TCS", interval:D1, last:1) { close } }`, allowed: SIGNED_IN },
  { name: 'pooledAccounts', kind: 'query', doc: `{ pooledAccounts { id name } }`, allowed: ['admin'], otherwise: 'FORBIDDEN' },
  { name: 'createSmallcase', kind: 'mutation', doc: `mutation($n:String!){ createSmallcase(input:{ name:$n, constituents:[{ symbol:"TCS", weight:"1" }] }){ id } }`, vars: (f) => ({ n: f.unique() }), allowed: MAY_MUTATE },
  { name: 'createStrategy', kind: 'mutation', doc: `mutation($n:String!){ createStrategy(input:{ name:$n, kind:SMA_CROSS, interval:D1, universe:{ symbols:["TCS"] }, mode:SIGNAL_ONLY }){ id } }`, vars: (f) => ({ n: f.unique() }), allowed: MAY_MUTATE },
  { name: 'runStrategyNow', kind: 'mutation', doc: `mutation($id:ID!){ runStrategyNow(id:$id){ id status } }`, vars: (f) => ({ id: f.strategyId }), allowed: ['owner', 'tradeKey'] },
  { name: 'previewTargetPortfolio', kind: 'query', doc: `query($p:ID!){ previewTargetPortfolio(portfolioId:$p, targets:[{ symbol:"TCS", targetQuantity:"1" }]){ investedAmount } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS }, // a read: the owner's advisor and admins may preview
  { name: 'previewRebalance', kind: 'query', doc: `query($id:ID!){ previewRebalance(investmentId:$id){ investedAmount } }`, vars: (f) => ({ id: f.investmentId }), allowed: READERS },
  { name: 'instruments', kind: 'query', doc: `{ instruments(search:"TC", first:5) { symbol } }`, allowed: SIGNED_IN },
  { name: 'quote', kind: 'query', doc: `{ quote(symbol:"TCS") { last } }`, allowed: SIGNED_IN },
  { name: 'indicator', kind: 'query', doc: `{ indicator(symbol:"TCS", interval:M1, expression:"sma(close, 2)", last:3) { value } }`, allowed: SIGNED_IN },
  { name: 'resumeStrategy', kind: 'mutation', doc: `mutation($id:ID!){ resumeStrategy(id:$id){ id } }`, vars: (f) => ({ id: f.strategyId }), allowed: ['owner', 'tradeKey'] },
  { name: 'updateStrategy', kind: 'mutation', doc: `mutation($id:ID!,$n:String!){ updateStrategy(id:$id, input:{ name:$n, kind:RULES, rules:{ entry:"close > 0" }, interval:D1, universe:{ symbols:["TCS"] }, mode:SIGNAL_ONLY }){ id } }`, vars: (f) => ({ id: f.strategyId, n: f.unique() }), allowed: ['owner', 'tradeKey'] },
  { name: 'createScreener', kind: 'mutation', doc: `mutation($n:String!){ createScreener(input:{ name:$n, kind:TOP_GAINERS, universe:{ symbols:["TCS","INFY"] } }){ id } }`, vars: (f) => ({ n: f.unique() }), allowed: MAY_MUTATE },
  { name: 'createPooledAccount', kind: 'mutation', doc: `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper"){ id } }`, vars: (f) => ({ n: f.unique() }), allowed: ['admin'], otherwise: 'FORBIDDEN' },
  { name: 'deleteWatchlist', kind: 'mutation', doc: `mutation($id:ID!){ deleteWatchlist(id:$id) }`, vars: async (f) => ({ id: await f.fresh.watchlist() }), allowed: ['owner', 'tradeKey'], forbidden: ['admin'] },
  { name: 'removeFromWatchlist', kind: 'mutation', doc: `mutation($id:ID!){ removeFromWatchlist(watchlistId:$id, symbol:"TCS"){ id } }`, vars: async (f) => ({ id: await f.fresh.watchlist() }), allowed: ['owner', 'tradeKey'], forbidden: ['admin'] },
  { name: 'deleteStrategy', kind: 'mutation', doc: `mutation($id:ID!){ deleteStrategy(id:$id) }`, vars: async (f) => ({ id: await f.fresh.strategy() }), allowed: ['owner', 'tradeKey'] },
  { name: 'importActivities', kind: 'mutation', doc: `mutation($p:ID!){ importActivities(portfolioId:$p, activities:[{ date:"2026-01-05T00:00:00Z", type:DEPOSIT, amount:"10" }]){ imported skipped } }`, vars: (f) => ({ p: f.portfolioId }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'backfillValuations', kind: 'mutation', doc: `mutation($p:ID!){ backfillValuations(portfolioId:$p) }`, vars: (f) => ({ p: f.portfolioId }), allowed: ['owner', 'tradeKey'], forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'advisorPerformance', kind: 'query', doc: `query($a:ID!){ advisorPerformance(advisorId:$a, currency:"INR"){ endValue } }`, vars: (f) => ({ a: f.advisorId }), allowed: ['ownersAdvisor', 'admin'], forbidden: ['owner', 'otherClient', 'readKey', 'tradeKey'] }, // another advisor cannot see this advisor: NOT_FOUND
  { name: 'addToWatchlist', kind: 'mutation', doc: `mutation($id:ID!){ addToWatchlist(watchlistId:$id, symbol:"INFY"){ id } }`, vars: (f) => ({ id: f.watchlistId }), allowed: ['owner', 'tradeKey'], forbidden: ['admin'] },

  // ── sign-in: callable without signing in, on a user of the row's own (never the owner's data)
  { name: 'login', kind: 'mutation', doc: `mutation($e:String!,$p:String!){ login(email:$e, password:$p){ accessToken user { id email } } }`, vars: async (f) => { const u = await f.person(); return { e: u.email, p: u.password }; }, allowed: ANYONE, public: true },
  { name: 'register', kind: 'mutation', doc: `mutation($e:String!){ register(email:$e, password:"correct-horse-battery"){ accessToken user { id email role } } }`, vars: (f) => ({ e: `${f.unique()}@matrix.example` }), allowed: ANYONE, public: true },
  { name: 'refreshToken', kind: 'mutation', doc: `mutation($r:String!){ refreshToken(refreshToken:$r){ accessToken user { id email } } }`, vars: async (f) => ({ r: (await f.fresh.person()).refreshToken }), allowed: ANYONE, public: true },
  { name: 'logout', kind: 'mutation', doc: `mutation($r:String!){ logout(refreshToken:$r) }`, vars: async (f) => ({ r: (await f.fresh.person()).refreshToken }), allowed: ANYONE, public: true },

  // ── backtests, signals, screeners, market data (the owner's own: advisors do not see strategies)
  { name: 'backtest', kind: 'query', doc: `query($id:ID!){ backtest(id:$id){ id status } }`, vars: (f) => ({ id: f.backtestId }), allowed: OWN },
  { name: 'runBacktest', kind: 'mutation', doc: `mutation($s:ID!){ runBacktest(input:{ strategyId:$s, from:"2025-01-01T00:00:00Z", to:"2025-03-01T00:00:00Z", initialCash:"100000" }){ id } }`, vars: (f) => ({ s: f.strategyId }), allowed: TRADERS },
  { name: 'cancelBacktest', kind: 'mutation', doc: `mutation($id:ID!){ cancelBacktest(id:$id){ id status } }`, vars: freshFor(TRADERS, 'id', (f) => f.fresh.queuedBacktest(), (f) => f.backtestId), allowed: TRADERS },
  { name: 'approveSignal', kind: 'mutation', doc: `mutation($id:ID!){ approveSignal(id:$id){ id status } }`, vars: freshFor(TRADERS, 'id', (f) => f.fresh.signal(), (f) => f.signalId), allowed: TRADERS },
  { name: 'rejectSignal', kind: 'mutation', doc: `mutation($id:ID!){ rejectSignal(id:$id){ id status } }`, vars: freshFor(TRADERS, 'id', (f) => f.fresh.signal(), (f) => f.signalId), allowed: TRADERS },
  { name: 'runScreener', kind: 'mutation', doc: `mutation($id:ID!){ runScreener(id:$id){ id matches { score } } }`, vars: (f) => ({ id: f.screenerId }), allowed: TRADERS },
  { name: 'importCandles', kind: 'mutation', doc: `mutation($c:String!){ importCandles(symbol:"WIPRO", interval:D1, csv:$c){ imported } }`, vars: () => ({ c: CSV_BAR }), allowed: ['admin'], otherwise: 'FORBIDDEN' }, // shared market data: administrators only
  { name: 'importEarnings', kind: 'mutation', doc: `mutation { importEarnings(csv:"symbol,exchange,date,epsEstimate,epsActual\\nTCS,NSE,2025-10-15,1,1"){ imported } }`, allowed: ['admin'], otherwise: 'FORBIDDEN' },

  // ── smallcases and investments (trading is the owner's; previews and reads are the readers')
  { name: 'smallcase (private)', kind: 'query', doc: `query($id:ID!){ smallcase(id:$id){ id name owner { email } } }`, vars: (f) => ({ id: f.privateSmallcaseId }), allowed: ['owner', 'admin', 'readKey', 'tradeKey'] },
  { name: 'updateSmallcase', kind: 'mutation', doc: `mutation($id:ID!,$n:String!){ updateSmallcase(id:$id, input:{ name:$n }){ id } }`, vars: async (f, a) => ({ ...(await freshFor(['owner', 'admin', 'tradeKey'], 'id', (x) => x.fresh.smallcase(), (x) => x.privateSmallcaseId)(f, a)), n: f.unique() }), allowed: ['owner', 'admin', 'tradeKey'] }, // admins moderate smallcases
  { name: 'archiveSmallcase', kind: 'mutation', doc: `mutation($id:ID!){ archiveSmallcase(id:$id){ id archived } }`, vars: freshFor(['owner', 'admin', 'tradeKey'], 'id', (f) => f.fresh.smallcase(), (f) => f.privateSmallcaseId), allowed: ['owner', 'admin', 'tradeKey'] },
  { name: 'investMore', kind: 'mutation', doc: `mutation($id:ID!){ investMore(investmentId:$id, amount:"10000"){ id kind } }`, vars: freshFor(TRADERS, 'id', (f) => f.fresh.investment(), (f) => f.investmentId), allowed: TRADERS, forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'rebalanceSmallcase', kind: 'mutation', doc: `mutation($id:ID!){ rebalanceSmallcase(investmentId:$id){ id kind } }`, vars: freshFor(TRADERS, 'id', (f) => f.fresh.investment(), (f) => f.investmentId), allowed: TRADERS, forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'exitSmallcase', kind: 'mutation', doc: `mutation($id:ID!){ exitSmallcase(investmentId:$id, fraction:"0.5"){ id kind } }`, vars: freshFor(TRADERS, 'id', (f) => f.fresh.investment(), (f) => f.investmentId), allowed: TRADERS, forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'repairInvestment', kind: 'mutation', doc: `mutation($id:ID!){ repairInvestment(investmentId:$id){ id kind } }`, vars: freshFor(TRADERS, 'id', (f) => f.fresh.outOfSync(), (f) => f.investmentId), allowed: TRADERS, forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'executeTargetPortfolio', kind: 'mutation', doc: `mutation($p:ID!){ executeTargetPortfolio(portfolioId:$p, targets:[{ symbol:"TCS", targetQuantity:"1" }]){ id kind } }`, vars: freshFor(TRADERS, 'p', (f) => f.fresh.portfolio(), (f) => f.portfolioId), allowed: TRADERS, forbidden: ['ownersAdvisor', 'admin'] },
  { name: 'proposeSmallcaseToClients', kind: 'mutation', doc: `mutation($s:ID!,$c:ID!){ proposeSmallcaseToClients(smallcaseId:$s, clientIds:[$c], amount:"20000", rationale:"matrix"){ id } }`, vars: (f) => ({ s: f.smallcaseId, c: f.ownerId }), allowed: ['ownersAdvisor'], forbidden: ['owner', 'otherClient', 'admin', 'tradeKey'] }, // another advisor: the owner is not their client (NOT_FOUND)

  // ── broker connections (the owner's own) and pooled accounts (administrators)
  { name: 'startBrokerConnection (reconnect)', kind: 'mutation', doc: `mutation($id:ID!){ startBrokerConnection(broker:"angelone", connectionId:$id, credentials:{}){ connection { id status } } }`, vars: (f) => ({ id: f.connectionId }), allowed: ['owner'], forbidden: ['tradeKey'] },
  { name: 'completeBrokerConnection', kind: 'mutation', doc: `mutation($id:ID!,$c:JSON!){ completeBrokerConnection(connectionId:$id, credentials:$c){ id status } }`, vars: async (f, a) => ({ ...(await freshFor(['owner'], 'id', (x) => x.fresh.connection(), (x) => x.connectionId)(f, a)), c: { pin: '2468', totp: '135790' } }), allowed: ['owner'], forbidden: ['tradeKey'] },
  { name: 'disconnectBroker', kind: 'mutation', doc: `mutation($id:ID!){ disconnectBroker(id:$id){ id status } }`, vars: freshFor(['owner'], 'id', (f) => f.fresh.connection(), (f) => f.connectionId), allowed: ['owner'], forbidden: ['tradeKey'] }, // broker credentials are managed by a person, never an API key
  { name: 'closePooledWindow', kind: 'mutation', doc: `mutation($id:ID!){ closePooledWindow(id:$id){ id } }`, vars: (f) => ({ id: f.pooledAccountId }), allowed: ['admin'], otherwise: 'FORBIDDEN' },

  // ── nested fields: the owner's data reached from an object another caller may see
  { name: 'Smallcase.owner.clients (nested)', kind: 'query', doc: `query($id:ID!){ smallcase(id:$id){ name owner { clients { email portfolios { name } } } } }`, vars: (f) => ({ id: f.smallcaseId }), allowed: ['ownersAdvisor', 'admin'], forbidden: ['owner', 'readKey', 'tradeKey'] }, // a public smallcase of the owner's advisor: the owner sees their advisor's record, not the advisor's clients; anyone else may not see the advisor's record (NOT_FOUND)
  { name: 'User.portfolios.orders.fills (nested)', kind: 'query', doc: `query($p:ID!){ portfolio(id:$p){ owner { portfolios { name positions { quantity } orders { edges { node { id fills { id } } } } } } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS },
  { name: 'users.portfolios (nested)', kind: 'query', doc: `{ users(first: 20) { edges { node { email portfolios { name } } } } }`, allowed: ['ownersAdvisor', 'otherAdvisor', 'admin'], otherwise: 'FORBIDDEN' }, // another advisor's list never holds the owner
  { name: 'Investment.portfolio.owner (nested)', kind: 'query', doc: `query($id:ID!){ investment(id:$id){ portfolio { name owner { email } } runs { orders { fills { id } } } } }`, vars: (f) => ({ id: f.investmentId }), allowed: READERS },
  { name: 'Proposal.client.portfolios (nested)', kind: 'query', doc: `query($id:ID!){ proposal(id:$id){ client { email portfolios { name } } advisor { email } } }`, vars: (f) => ({ id: f.proposalId }), allowed: READERS },

  // ── subscriptions
  { name: 'balanceChanged', kind: 'subscription', doc: `subscription($p:ID){ balanceChanged(portfolioId:$p, afterSequence:0){ sequence cash } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS, expectEvent: true },
  { name: 'orderUpdated', kind: 'subscription', doc: `subscription($p:ID){ orderUpdated(portfolioId:$p, afterSequence:0){ sequence order { id } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS, expectEvent: true },
  { name: 'fillReceived', kind: 'subscription', doc: `subscription($p:ID){ fillReceived(portfolioId:$p, afterSequence:0){ sequence fill { id } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS, expectEvent: true },
  { name: 'basketRunUpdated', kind: 'subscription', doc: `subscription($p:ID){ basketRunUpdated(portfolioId:$p, afterSequence:0){ sequence run { id } } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS, expectEvent: true },
  { name: 'watchlistQuotes', kind: 'subscription', doc: `subscription($id:ID!){ watchlistQuotes(watchlistId:$id){ symbol last } }`, vars: (f) => ({ id: f.watchlistId }), allowed: ['owner', 'admin', 'readKey', 'tradeKey'], expectEvent: true },
  { name: 'positionChanged', kind: 'subscription', doc: `subscription($p:ID){ positionChanged(portfolioId:$p, afterSequence:0){ sequence } }`, vars: (f) => ({ p: f.portfolioId }), allowed: READERS },
  { name: 'strategySignal (own)', kind: 'subscription', doc: `subscription { strategySignal { id } }`, allowed: SIGNED_IN },
  { name: 'quotes', kind: 'subscription', doc: `subscription { quotes(symbols:["TCS"]) { symbol last } }`, allowed: SIGNED_IN, expectEvent: true },
  { name: 'proposalUpdated (own)', kind: 'subscription', doc: `subscription { proposalUpdated { id } }`, allowed: SIGNED_IN },
  { name: 'backtestProgress', kind: 'subscription', doc: `subscription($id:ID!){ backtestProgress(backtestId:$id){ id status } }`, vars: (f) => ({ id: f.backtestId }), allowed: OWN, expectEvent: true },
  { name: 'notificationReceived (own)', kind: 'subscription', doc: `subscription { notificationReceived { id } }`, allowed: SIGNED_IN },
  { name: 'importInstruments', kind: 'mutation', doc: `mutation($c:String!){ importInstruments(broker:"zerodha", content:$c){ imported } }`, vars: (f) => ({ c: `instrument_token,tradingsymbol,exchange\n1,${f.unique().replace(/[^A-Za-z0-9]/g, '').toUpperCase()},NSE\n` }), allowed: ['admin'], otherwise: 'FORBIDDEN' },
];

/** The code a refused caller must get for a row. */
export function expectedRefusal(row: MatrixRow, actor: Actor): Code {
  if (actor === 'anonymous') return 'UNAUTHENTICATED';
  if (actor === 'readKey' && row.kind === 'mutation') return 'FORBIDDEN';
  if (row.forbidden?.includes(actor)) return 'FORBIDDEN';
  return row.otherwise ?? 'NOT_FOUND';
}
