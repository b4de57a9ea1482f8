import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { startTestServer, TEST_ENCRYPTION_KEY, type TestServer } from '../support/server.js';
import { modes } from '../support/env.js';
import { errorCode, gql, must, newUser, waitFor } from '../support/gql.js';
import { placeOrder, waitForQuote, waitForStatus } from '../support/trading.js';
import { createLogger } from '../../src/lib/logger.js';
import { dec, fmt } from '../../src/lib/decimal.js';
import { brokerConnections } from '../../src/db/schema/index.js';
import { Vault } from '../../src/brokers/connections/vault.js';
import { TradeStationFake } from './fakes/tradestation.js';

const CONN = 'id broker label accountId status expiresAt lastError createdAt';

/**
 * A user connects TradeStation through the OAuth2 redirect flow against the TradeStation fake, opens a
 * USD portfolio on the connection and trades MSFT: fills by the order stream and, when pushes are lost,
 * by polling; short-lived access tokens are refreshed ahead of expiry and a rotated refresh token is
 * stored sealed; a refused token makes the connection EXPIRED. Secrets never appear in a response or a log.
 */
describe.each(modes())('TradeStation connection and USD trading (%s)', { timeout: 90_000 }, (mode) => {
  let server: TestServer;
  let fake: TradeStationFake;
  const logLines: string[] = [];

  beforeAll(async () => {
    fake = await new TradeStationFake().start();
    const sink = new Writable({
      write(chunk, _e, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    server = await startTestServer({
      mode,
      logger: createLogger('debug', 'test', sink),
      env: { BROKER_TRADESTATION_BASE_URL: fake.baseUrl, BROKER_TRADESTATION_LOGIN_URL: fake.loginUrl, BROKER_POLL_INTERVAL_MS: '250' },
    });
    // The fake's market sits on the simulated one, so holds sized from it cover the fills.
    const q = await waitForQuote(server, 'MSFT', 'NASDAQ');
    const last = dec(q.last).toDecimalPlaces(2);
    fake.setQuote('MSFT', { bid: fmt(last.minus('0.01')), ask: fmt(last.plus('0.01')), last: fmt(last) });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.stop();
  });

  async function connect(token: string, suffix: string, opts: { rotating?: boolean; accessTtlSec?: number } = {}) {
    const clientId = `tsapp${suffix}${mode}0000000000`;
    const clientSecret = `ts-secret-${suffix}-do-not-leak`;
    const { accountId } = fake.addUser({ clientId, clientSecret, ...opts });
    const started = await gql(server, `mutation($c:JSON!){ startBrokerConnection(broker:"tradestation", credentials:$c, label:"us"){ connection { ${CONN} } authorizationUrl } }`, { c: { clientId, clientSecret } }, token);
    expect(started.errors).toBeUndefined();
    expect(JSON.stringify(started)).not.toContain(clientSecret);
    const start = started.data!.startBrokerConnection;
    expect(start.connection.status).toBe('PENDING');
    const url = new URL(start.authorizationUrl);
    expect(url.origin + url.pathname).toBe(fake.loginUrl);
    const redirectUri = url.searchParams.get('redirect_uri')!;
    expect(redirectUri).toMatch(/\/brokers\/tradestation\/callback$/);
    expect(url.searchParams.get('scope')).toContain('offline_access');
    // The user signs in at TradeStation, which redirects back to our callback with code and state.
    const login = await fetch(start.authorizationUrl, { redirect: 'manual' });
    expect(login.status).toBe(302);
    // The redirect URI is PUBLIC_URL-based: follow TradeStation's redirect to this test server instead.
    const location = new URL(login.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(redirectUri);
    const back = await fetch(`${server.url}/brokers/tradestation/callback${location.search}`);
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('connected');
    return { clientId, clientSecret, accountId, connectionId: start.connection.id as string };
  }

  async function usdPortfolio(token: string, connectionId: string) {
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"ts", baseCurrency:"USD", brokerConnectionId:$c){ id broker baseCurrency } }`, { c: connectionId }, token);
    expect(p.createPortfolio).toMatchObject({ broker: 'tradestation', baseCurrency: 'USD' });
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: p.createPortfolio.id }, token);
    return p.createPortfolio.id as string;
  }

  async function sealedSession(connectionId: string) {
    const [row] = await server.app.db.db.select().from(brokerConnections).where(eq(brokerConnections.id, connectionId));
    const secrets = new Vault(Buffer.from(TEST_ENCRYPTION_KEY, 'base64')).open<{ session: { refreshToken?: string; accessToken: string } }>(row.credentialsSealed!, row.id);
    return { row, session: secrets.session };
  }

  it('connects through the redirect flow (code exchanged at /oauth/token), lists TradeStation as OAUTH_REDIRECT, and seals the tokens', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'A1');
    const list = await must(server, `{ brokerConnections { ${CONN} } }`, {}, u.token);
    const conn = list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId);
    expect(conn).toMatchObject({ broker: 'tradestation', status: 'ACTIVE', accountId: c.accountId, label: 'us' });
    // A 20-minute token: refreshed two minutes before it ends.
    const life = Date.parse(conn.expiresAt) - Date.now();
    expect(life).toBeGreaterThan(17 * 60_000);
    expect(life).toBeLessThanOrEqual(18 * 60_000);
    const [exchange] = fake.grants(c.clientId, 'authorization_code');
    expect(exchange.form!.get('redirect_uri')).toMatch(/\/brokers\/tradestation\/callback$/);
    const brokers = await must(server, `{ brokers { name authFlow displayName markets } }`, {}, u.token);
    expect(brokers.brokers).toContainEqual({ name: 'tradestation', authFlow: 'OAUTH_REDIRECT', displayName: 'TradeStation', markets: ['NASDAQ', 'NYSE', 'NYSEARCA', 'AMEX'] });
    const { row, session } = await sealedSession(c.connectionId);
    expect(row.credentialsSealed).toMatch(/^v1\./);
    expect(fake.refreshTokensOf(c.clientId)).toEqual([session.refreshToken]);
    expect(row.credentialsSealed).not.toContain(session.refreshToken!);
    expect(row.credentialsSealed).not.toContain(c.clientSecret);
  });

  it('a USD portfolio buys MSFT: the exact order goes to TradeStation, fills arrive by the order stream with their commissions, once despite duplicates', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'B2');
    const pid = await usdPortfolio(u.token, c.connectionId);
    await waitFor('the order stream to open', async () => fake.openStreams(c.clientId) > 0);
    fake.duplicatePushes = true;
    fake.fillDelayMs = 300; // executions after the acknowledgement is recorded: they can only come by the stream
    fake.nextOrders.push({ fills: ['2', '3'] });
    try {
      const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'MSFT', side: 'BUY', type: 'MARKET', quantity: '5' });
      const done = await waitForStatus(server, u.token, order.id, ['FILLED']);
      await new Promise((r) => setTimeout(r, 600)); // duplicates and poll passes have had their chance
      const o = await must(server, `query($id:ID!){ order(id:$id){ filledQuantity feesPaid fills { quantity price fee } } }`, { id: order.id }, u.token);
      expect(dec(o.order.filledQuantity).eq(5)).toBe(true);
      expect(o.order.fills.map((f: { quantity: string }) => fmt(f.quantity)).sort()).toEqual(['2', '3']);
      expect(o.order.fills.map((f: { fee: string }) => fmt(f.fee))).toEqual(['1', '1']); // $0.01/share, $1 minimum, per execution
      expect(dec(o.order.feesPaid).eq(2)).toBe(true);
      const posted = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v3/orderexecution/orders' && r.json?.AccountID === c.accountId);
      expect(posted).toHaveLength(1);
      expect(posted[0].json).toEqual({ AccountID: c.accountId, Symbol: 'MSFT', Quantity: '5', OrderType: 'Market', TradeAction: 'BUY', TimeInForce: { Duration: 'DAY' }, Route: 'Intelligent' });
      expect(done.brokerOrderId).toBe(fake.orderIds(c.clientId)[0]);
    } finally {
      fake.duplicatePushes = false;
      fake.fillDelayMs = 5;
    }
  });

  it('a lost acknowledgement: the retried submission adopts the order TradeStation made, so one order fills once', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'L7');
    const pid = await usdPortfolio(u.token, c.connectionId);
    fake.loseNextAck = true;
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'MSFT', side: 'BUY', type: 'MARKET', quantity: '4' });
    const done = await waitForStatus(server, u.token, order.id, ['FILLED'], 30_000);
    expect(fake.orderIds(c.clientId)).toEqual([done.brokerOrderId]);
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path === '/v3/orderexecution/orders' && r.json?.AccountID === c.accountId)).toHaveLength(1);
    expect(done.filledQuantity).toMatch(/^4(\.0+)?$/);
  });

  it('finds a fill whose push was lost by polling the order list', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'C3');
    const pid = await usdPortfolio(u.token, c.connectionId);
    const q = await waitForQuote(server, 'MSFT', 'NASDAQ');
    const low = fmt(dec(q.last).div(2).toDecimalPlaces(2));
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'MSFT', side: 'BUY', type: 'LIMIT', limitPrice: low, quantity: '3' });
    const open = await waitForStatus(server, u.token, order.id, ['OPEN']);
    fake.dropPushes = true;
    try {
      const pollsBefore = fake.requests.filter((r) => r.method === 'GET' && r.path === `/v3/brokerage/accounts/${c.accountId}/orders`).length;
      fake.fillRest(open.brokerOrderId);
      const done = await waitForStatus(server, u.token, order.id, ['FILLED']);
      expect(done.fills ?? [{}]).toHaveLength(1);
      expect(done.filledQuantity).toMatch(/^3(\.0+)?$/);
      expect(fake.requests.filter((r) => r.method === 'GET' && r.path === `/v3/brokerage/accounts/${c.accountId}/orders`).length).toBeGreaterThan(pollsBefore);
    } finally {
      fake.dropPushes = false;
    }
  });

  it('refreshes short-lived access tokens ahead of expiry, stores each rotated refresh token sealed, and keeps trading', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'R6', { rotating: true, accessTtlSec: 3 });
    const pid = await usdPortfolio(u.token, c.connectionId);
    const first = (await sealedSession(c.connectionId)).session.refreshToken;
    // The poller opens the session every pass: past expiresAt (3 s − 0.75 s) it refreshes, twice here.
    // After two refreshes, the sealed refresh token is the one TradeStation holds live (the rotated one).
    await waitFor(
      'two refreshes, the last one stored',
      async () => fake.grants(c.clientId, 'refresh_token').length >= 2 && (await sealedSession(c.connectionId)).session.refreshToken === fake.refreshTokensOf(c.clientId)[0],
      15_000,
    );
    const { row, session } = await sealedSession(c.connectionId);
    expect(session.refreshToken).not.toBe(first);
    expect(fake.refreshTokensOf(c.clientId)).toHaveLength(1); // each rotation killed the previous token
    expect(row.credentialsSealed).not.toContain(session.refreshToken!);
    expect(row.status).toBe('ACTIVE');
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'MSFT', side: 'BUY', type: 'MARKET', quantity: '1' });
    await waitForStatus(server, u.token, order.id, ['FILLED']);
    const list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
    expect(list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId).status).toBe('ACTIVE');
  });

  it('a DAY order TradeStation expires (EXP) ends EXPIRED here, its hold released', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'E5');
    const pid = await usdPortfolio(u.token, c.connectionId);
    const q = await waitForQuote(server, 'MSFT', 'NASDAQ');
    const low = fmt(dec(q.last).div(2).toDecimalPlaces(2));
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'MSFT', side: 'BUY', type: 'LIMIT', limitPrice: low, quantity: '2' });
    const open = await waitForStatus(server, u.token, order.id, ['OPEN']);
    fake.expire(open.brokerOrderId);
    const done = await waitForStatus(server, u.token, order.id, ['EXPIRED']);
    expect(done.filledQuantity).toMatch(/^0(\.0+)?$/);
    const p = await must(server, `query($id:ID!){ portfolio(id:$id){ cash availableCash } }`, { id: pid }, u.token);
    expect(dec(p.portfolio.availableCash).eq(p.portfolio.cash)).toBe(true);
  });

  it('a refused token makes the connection EXPIRED and later orders fail with BROKER_AUTH_REQUIRED', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'D4');
    const pid = await usdPortfolio(u.token, c.connectionId);
    fake.revokeAccess(c.clientId);
    fake.revokeRefresh(c.clientId);
    // Whoever meets the 401 first (this order's submission, or the poller reading the order list) expires
    // the connection: the order then fails, or is refused at once.
    const first = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: pid, symbol: 'MSFT', side: 'BUY', type: 'MARKET', quantity: '1' } }, u.token);
    if (first.errors) expect(errorCode(first)).toBe('BROKER_AUTH_REQUIRED');
    else expect((await waitForStatus(server, u.token, first.data!.placeOrder.id, ['FAILED'])).rejectReason).toContain('BROKER_AUTH_REQUIRED');
    expect(fake.orderIds(c.clientId)).toEqual([]);
    const list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
    expect(list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId).status).toBe('EXPIRED');
    const second = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: pid, symbol: 'MSFT', side: 'BUY', type: 'MARKET', quantity: '1' } }, u.token);
    expect(errorCode(second)).toBe('BROKER_AUTH_REQUIRED');
  });

  it('a login TradeStation refuses leaves the connection in ERROR with BROKER_LOGIN_FAILED', async () => {
    const u = await newUser(server);
    const started = await must(server, `mutation($c:JSON!){ startBrokerConnection(broker:"tradestation", credentials:$c){ connection { id } authorizationUrl } }`, { c: { clientId: 'tsunknownclient01', clientSecret: 'x' } }, u.token);
    const missing = await gql(server, `mutation{ startBrokerConnection(broker:"tradestation", credentials:{clientId:"tsunknownclient01"}){ authorizationUrl } }`, {}, u.token);
    expect(errorCode(missing)).toBe('BAD_USER_INPUT');
    expect(missing.errors?.[0].extensions?.field).toBe('credentials.clientSecret');
    // A forged code on our callback: TradeStation refuses the exchange.
    const state = new URL(started.startBrokerConnection.authorizationUrl).searchParams.get('state')!;
    const back = await fetch(`${server.url}/brokers/tradestation/callback?code=forged&state=${encodeURIComponent(state)}`);
    expect(back.status).toBeGreaterThanOrEqual(400);
    const list = await must(server, `{ brokerConnections { id status lastError } }`, {}, u.token);
    expect(list.brokerConnections.find((x: { id: string }) => x.id === started.startBrokerConnection.connection.id)).toMatchObject({ status: 'ERROR', lastError: expect.stringMatching(/refused the authorization code/) });
  });

  it('never logs a secret or a token', async () => {
    await waitFor('some log lines', () => logLines.length > 0);
    const all = logLines.join('');
    expect(all).not.toMatch(/ts-secret-|ts-at-|ts-rt-/);
  });
});
