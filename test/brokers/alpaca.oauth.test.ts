import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { modes } from '../support/env.js';
import { errorCode, gql, must, newUser, waitFor } from '../support/gql.js';
import { placeOrder, waitForQuote, waitForStatus } from '../support/trading.js';
import { dec, fmt } from '../../src/lib/decimal.js';
import { AlpacaFake } from './fakes/alpaca.js';

/**
 * Alpaca through OAuth2 (a third-party app): startBrokerConnection with {clientId, clientSecret} returns
 * Alpaca's authorization URL; the user approves; Alpaca redirects to our callback with the code, which is
 * exchanged at /oauth/token; every later call carries `Authorization: Bearer`, the stream authenticates
 * with the token, and a revoked token makes the connection EXPIRED.
 */
describe.each(modes())('Alpaca OAuth2 connection (%s)', { timeout: 90_000 }, (mode) => {
  let server: TestServer;
  let fake: AlpacaFake;
  let n = 0;

  beforeAll(async () => {
    fake = await new AlpacaFake().start();
    server = await startTestServer({
      mode,
      env: { BROKER_ALPACA_BASE_URL: fake.url, BROKER_ALPACA_WS_URL: fake.wsUrl, BROKER_ALPACA_DATA_URL: fake.url, BROKER_ALPACA_LOGIN_URL: 'https://app.alpaca.markets/oauth/authorize', BROKER_POLL_INTERVAL_MS: '250' },
    });
    const q = await waitForQuote(server, 'AAPL', 'NASDAQ');
    const last = dec(q.last).toDecimalPlaces(2);
    fake.setQuote('AAPL', { bid: fmt(last.minus('0.01')), ask: fmt(last.plus('0.01')), last: fmt(last), exchange: 'NASDAQ' });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.stop();
  });

  async function connect(token: string) {
    const i = n++;
    const keyId = `PKOAUTH${i}000000000`;
    const { accountNumber } = fake.addAccount(keyId, `never-used-${i}`, '100000');
    const clientId = `client-${i}-abcdef`;
    const clientSecret = `oauth-secret-${i}-do-not-leak`;
    const r = await gql(server, `mutation($c:JSON!){ startBrokerConnection(broker:"alpaca", credentials:$c){ connection { id status } authorizationUrl } }`, { c: { clientId, clientSecret } }, token);
    expect(r.errors).toBeUndefined();
    expect(JSON.stringify(r)).not.toContain(clientSecret);
    const start = r.data!.startBrokerConnection;
    expect(start.connection.status).toBe('PENDING');
    const url = new URL(start.authorizationUrl);
    const redirectUri = url.searchParams.get('redirect_uri')!; // PUBLIC_URL + /brokers/alpaca/callback
    expect(redirectUri).toMatch(/\/brokers\/alpaca\/callback$/);
    fake.addOAuthApp(clientId, clientSecret, redirectUri);
    expect(url.origin + url.pathname).toBe('https://app.alpaca.markets/oauth/authorize');
    expect(Object.fromEntries(url.searchParams)).toEqual({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, state: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/), scope: 'account:write trading' });
    // The user approves at Alpaca, which sends the browser back with code and state.
    const code = fake.authorize(clientId, keyId, redirectUri);
    const back = await fetch(`${server.url}/brokers/alpaca/callback?code=${code}&state=${url.searchParams.get('state')}`);
    expect(back.status).toBe(200);
    return { keyId, accountNumber, clientId, clientSecret, code, redirectUri, connectionId: start.connection.id as string };
  }

  it('exchanges the code at /oauth/token (form) and calls the API with Authorization: Bearer, not the key headers', async () => {
    const u = await newUser(server);
    const c = await connect(u.token);
    const list = await must(server, `{ brokerConnections { id status accountId } }`, {}, u.token);
    expect(list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId)).toMatchObject({ status: 'ACTIVE', accountId: c.accountNumber });
    const exchange = fake.requests.find((r) => r.path === '/oauth/token' && r.rawBody.includes(c.code))!;
    expect(exchange.method).toBe('POST');
    expect(exchange.contentType).toContain('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(exchange.rawBody))).toEqual({ grant_type: 'authorization_code', code: c.code, client_id: c.clientId, client_secret: c.clientSecret, redirect_uri: c.redirectUri });
    const check = fake.requests.filter((r) => r.path === '/v2/account' && /^Bearer /.test(String(r.headers.authorization ?? ''))).pop()!;
    expect(check.headers['apca-api-key-id']).toBeUndefined();
    // A code is single use.
    const replay = await fetch(`${server.url}/brokers/alpaca/callback?code=${c.code}&state=x`);
    expect(replay.status).toBe(400);
  });

  it('a USD portfolio trades through the OAuth connection: Bearer on the order, fills by the token-authenticated stream', async () => {
    const u = await newUser(server);
    const c = await connect(u.token);
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"oauth", baseCurrency:"USD", brokerConnectionId:$c){ id } }`, { c: c.connectionId }, u.token);
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: p.createPortfolio.id }, u.token);
    await waitFor('the stream to listen', async () => fake.listeningKeys().includes(c.keyId));
    expect(fake.streamMessages).toContainEqual({ action: 'authenticate', data: { oauth_token: expect.any(String) } });
    const order = await placeOrder(server, u.token, { portfolioId: p.createPortfolio.id, symbol: 'AAPL', side: 'BUY', type: 'MARKET', quantity: '2' });
    await waitForStatus(server, u.token, order.id, ['FILLED']);
    const posted = fake.requests.find((r) => r.method === 'POST' && r.path === '/v2/orders' && (r.json as { client_order_id?: string })?.client_order_id === order.id)!;
    expect(posted.headers.authorization).toMatch(/^Bearer [0-9a-f-]{36}$/);
    expect(posted.headers['apca-api-secret-key']).toBeUndefined();
  });

  it('a revoked token makes the connection EXPIRED and orders are refused with BROKER_AUTH_REQUIRED', async () => {
    const u = await newUser(server);
    const c = await connect(u.token);
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"oauth", baseCurrency:"USD", brokerConnectionId:$c){ id } }`, { c: c.connectionId }, u.token);
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: p.createPortfolio.id }, u.token);
    fake.revokeTokens(c.keyId);
    // The next call (a poll pass or an order) meets the 401: the connection is EXPIRED, nothing more is sent.
    await waitFor('the connection to expire', async () => {
      const list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
      return list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId).status === 'EXPIRED';
    });
    const second = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: p.createPortfolio.id, symbol: 'AAPL', side: 'BUY', type: 'MARKET', quantity: '1' } }, u.token);
    expect(errorCode(second)).toBe('BROKER_AUTH_REQUIRED');
  });

  it('refuses a half-given OAuth app with BAD_USER_INPUT naming the field', async () => {
    const u = await newUser(server);
    const r = await gql(server, `mutation{ startBrokerConnection(broker:"alpaca", credentials:{clientId:"client-x-abcdef"}){ authorizationUrl } }`, {}, u.token);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].extensions?.field).toBe('credentials.clientSecret');
  });
});
