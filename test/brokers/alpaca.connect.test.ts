import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { startTestServer, type TestServer } from '../support/server.js';
import { modes } from '../support/env.js';
import { errorCode, gql, must, newUser, waitFor } from '../support/gql.js';
import { placeOrder, waitForQuote, waitForStatus } from '../support/trading.js';
import { createLogger } from '../../src/lib/logger.js';
import { dec, fmt } from '../../src/lib/decimal.js';
import { brokerConnections } from '../../src/db/schema/index.js';
import { AlpacaFake } from './fakes/alpaca.js';

const CONN = 'id broker label accountId status expiresAt lastError createdAt';

/**
 * A user connects Alpaca with API keys through GraphQL against the Alpaca fake, opens a USD portfolio on
 * the connection and trades AAPL: fills by the trade_updates stream and, when pushes are lost, by polling
 * the FILL activities. A revoked key makes the connection EXPIRED. Secrets never appear in a response
 * or a log line.
 */
describe.each(modes())('Alpaca connection and USD trading (%s)', { timeout: 90_000 }, (mode) => {
  let server: TestServer;
  let fake: AlpacaFake;
  const logLines: string[] = [];

  beforeAll(async () => {
    fake = await new AlpacaFake().start();
    const sink = new Writable({
      write(chunk, _e, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    server = await startTestServer({
      mode,
      logger: createLogger('debug', 'test', sink),
      env: { BROKER_ALPACA_BASE_URL: fake.url, BROKER_ALPACA_WS_URL: fake.wsUrl, BROKER_ALPACA_DATA_URL: fake.url, BROKER_POLL_INTERVAL_MS: '250' },
    });
    // The fake's market sits on the simulated one, so holds sized from it cover the fills.
    const q = await waitForQuote(server, 'AAPL', 'NASDAQ');
    const last = dec(q.last).toDecimalPlaces(2);
    fake.setQuote('AAPL', { bid: fmt(last.minus('0.01')), ask: fmt(last.plus('0.01')), last: fmt(last), exchange: 'NASDAQ' });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.stop();
  });

  async function connect(token: string, suffix: string) {
    const keyId = `PKTEST${suffix}0000000000`;
    const secretKey = `alpaca-secret-${suffix}-do-not-leak`;
    const { accountNumber } = fake.addAccount(keyId, secretKey, '100000');
    const r = await gql(server, `mutation($c:JSON!){ startBrokerConnection(broker:"alpaca", credentials:$c, label:"us"){ connection { ${CONN} } authorizationUrl } }`, { c: { keyId, secretKey } }, token);
    expect(r.errors).toBeUndefined();
    expect(JSON.stringify(r)).not.toContain(secretKey);
    const start = r.data!.startBrokerConnection;
    expect(start.authorizationUrl).toBeNull();
    return { keyId, secretKey, accountNumber, connectionId: start.connection.id as string, connection: start.connection };
  }

  async function usdPortfolio(token: string, connectionId: string) {
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"alpaca", baseCurrency:"USD", brokerConnectionId:$c){ id broker baseCurrency } }`, { c: connectionId }, token);
    expect(p.createPortfolio).toMatchObject({ broker: 'alpaca', baseCurrency: 'USD' });
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: p.createPortfolio.id }, token);
    return p.createPortfolio.id as string;
  }

  it('connects with API keys at once (checked with GET /v2/account), lists Alpaca as API_KEY, and seals the secret', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'A1');
    expect(c.connection).toMatchObject({ broker: 'alpaca', status: 'ACTIVE', accountId: c.accountNumber, label: 'us', expiresAt: null });
    const check = fake.requests.find((r) => r.path === '/v2/account' && r.headers['apca-api-key-id'] === c.keyId)!;
    expect(check.headers['apca-api-secret-key']).toBe(c.secretKey);
    const brokers = await must(server, `{ brokers { name authFlow displayName markets } }`, {}, u.token);
    expect(brokers.brokers).toContainEqual({ name: 'alpaca', authFlow: 'API_KEY', displayName: 'Alpaca', markets: ['NASDAQ', 'NYSE', 'NYSEARCA'] });
    const [row] = await server.app.db.db.select().from(brokerConnections).where(eq(brokerConnections.id, c.connectionId));
    expect(row.credentialsSealed).toMatch(/^v1\./);
    expect(row.credentialsSealed).not.toContain(c.secretKey);
  });

  it('refuses keys Alpaca does not know, and missing ones with BAD_USER_INPUT naming the field', async () => {
    const u = await newUser(server);
    const missing = await gql(server, `mutation{ startBrokerConnection(broker:"alpaca", credentials:{keyId:"PKABCDEFGH12"}){ authorizationUrl } }`, {}, u.token);
    expect(errorCode(missing)).toBe('BAD_USER_INPUT');
    expect(missing.errors?.[0].extensions?.field).toBe('credentials.secretKey');
    const wrong = await gql(server, `mutation{ startBrokerConnection(broker:"alpaca", credentials:{keyId:"PKNOSUCHKEY0", secretKey:"nope"}){ connection { status } } }`, {}, u.token);
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    expect(wrong.errors?.[0].extensions?.reason).toBe('BROKER_LOGIN_FAILED');
    expect(wrong.errors?.[0].message).toMatch(/not authorized/);
    const list = await must(server, `{ brokerConnections { status lastError } }`, {}, u.token);
    expect(list.brokerConnections).toEqual([expect.objectContaining({ status: 'ERROR' })]);
  });

  it('a USD portfolio buys AAPL: the exact order goes to Alpaca and the fills arrive by the stream, once despite duplicates', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'B2');
    const pid = await usdPortfolio(u.token, c.connectionId);
    await waitFor('the stream to listen', async () => fake.listeningKeys().includes(c.keyId));
    fake.duplicatePushes = true;
    fake.nextOrders.push({ fills: ['2', '3'] });
    try {
      const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'AAPL', side: 'BUY', type: 'MARKET', quantity: '5' });
      await waitForStatus(server, u.token, order.id, ['FILLED']);
      await new Promise((r) => setTimeout(r, 600)); // duplicates and poll passes have had their chance
      const o = await must(server, `query($id:ID!){ order(id:$id){ filledQuantity averageFillPrice fills { quantity price } } }`, { id: order.id }, u.token);
      expect(dec(o.order.filledQuantity).eq(5)).toBe(true);
      expect(o.order.fills.map((f: { quantity: string }) => fmt(f.quantity)).sort()).toEqual(['2', '3']);
      expect(dec(o.order.averageFillPrice).eq(o.order.fills[0].price)).toBe(true); // both at the fake's ask
      const posted = fake.requests.filter((r) => r.method === 'POST' && r.path === '/v2/orders' && r.headers['apca-api-key-id'] === c.keyId);
      expect(posted).toHaveLength(1);
      expect(posted[0].json).toEqual({ symbol: 'AAPL', qty: '5', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: order.id });
    } finally {
      fake.duplicatePushes = false;
    }
  });

  it('finds a fill whose push was lost by polling the FILL activities', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'C3');
    const pid = await usdPortfolio(u.token, c.connectionId);
    const q = await waitForQuote(server, 'AAPL', 'NASDAQ');
    const low = fmt(dec(q.last).div(2).toDecimalPlaces(2));
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'AAPL', side: 'BUY', type: 'LIMIT', limitPrice: low, quantity: '3' });
    const open = await waitForStatus(server, u.token, order.id, ['OPEN']);
    fake.dropPushes = true;
    try {
      fake.fillRest(open.brokerOrderId);
      const done = await waitForStatus(server, u.token, order.id, ['FILLED']);
      expect(done.fills ?? [{}]).toHaveLength(1);
      expect(done.filledQuantity).toMatch(/^3(\.0+)?$/);
    } finally {
      fake.dropPushes = false;
    }
  });

  it('a DAY order Alpaca expires at the close ends EXPIRED here, its hold released', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'E5');
    const pid = await usdPortfolio(u.token, c.connectionId);
    const q = await waitForQuote(server, 'AAPL', 'NASDAQ');
    const low = fmt(dec(q.last).div(2).toDecimalPlaces(2));
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'AAPL', side: 'BUY', type: 'LIMIT', limitPrice: low, quantity: '2' });
    const open = await waitForStatus(server, u.token, order.id, ['OPEN']);
    fake.expire(open.brokerOrderId);
    const done = await waitForStatus(server, u.token, order.id, ['EXPIRED']);
    expect(done.filledQuantity).toMatch(/^0(\.0+)?$/);
    const p = await must(server, `query($id:ID!){ portfolio(id:$id){ cash availableCash } }`, { id: pid }, u.token);
    expect(dec(p.portfolio.availableCash).eq(p.portfolio.cash)).toBe(true);
  });

  it('a revoked key makes the connection EXPIRED and later orders fail with BROKER_AUTH_REQUIRED', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'D4');
    const pid = await usdPortfolio(u.token, c.connectionId);
    fake.revokeKey(c.keyId);
    const first = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'AAPL', side: 'BUY', type: 'MARKET', quantity: '1' });
    const failed = await waitForStatus(server, u.token, first.id, ['FAILED']);
    expect(failed.rejectReason).toContain('BROKER_AUTH_REQUIRED');
    const list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
    expect(list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId).status).toBe('EXPIRED');
    const second = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: pid, symbol: 'AAPL', side: 'BUY', type: 'MARKET', quantity: '1' } }, u.token);
    expect(errorCode(second)).toBe('BROKER_AUTH_REQUIRED');
  });

  it('never logs a secret key', async () => {
    await waitFor('some log lines', () => logLines.length > 0);
    expect(logLines.join('')).not.toMatch(/alpaca-secret-/);
  });
});
