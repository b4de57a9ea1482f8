import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from '../support/server.js';
import { modes } from '../support/env.js';
import { errorCode, gql, must, newUser, waitFor } from '../support/gql.js';
import { placeOrder, waitForQuote, waitForStatus } from '../support/trading.js';
import { createLogger } from '../../src/lib/logger.js';
import { brokerConnections } from '../../src/db/schema/index.js';
import { KiteFake } from './fakes/kite.js';

const CONN = 'id broker label accountId status expiresAt lastError createdAt';

/**
 * A user connects Zerodha through the real redirect flow against the Kite fake, trades on a portfolio
 * bound to the connection (fills by postback and by polling), loses the session, and is told to
 * reconnect. Secrets never appear in a response or a log line.
 */
describe.each(modes())('Zerodha connection and trading through Kite (%s)', { timeout: 90_000 }, (mode) => {
  let server: TestServer;
  let kite: KiteFake;
  const logLines: string[] = [];

  beforeAll(async () => {
    kite = await new KiteFake().start();
    kite.setQuote('NSE', 'INFY', { bid: '1611.90', ask: '1612.30', last: '1612.10', tick: '0.10' });
    const sink = new Writable({
      write(chunk, _e, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    server = await startTestServer({
      mode,
      logger: createLogger('debug', 'test', sink),
      env: {
        BROKER_ZERODHA_BASE_URL: kite.url,
        BROKER_ZERODHA_LOGIN_URL: `${kite.url}/connect/login`,
        BROKER_ZERODHA_WS_URL: kite.url.replace(/^http/, 'ws'),
        BROKER_POLL_INTERVAL_MS: '250',
      },
    });
    await waitForQuote(server, 'INFY');
  });
  afterAll(async () => {
    await server?.close();
    await kite?.stop();
  });

  async function connect(token: string, suffix: string) {
    const apiKey = `kiteapp${suffix}`;
    const apiSecret = `kite-secret-${suffix}-do-not-leak`;
    kite.addApp({ apiKey, apiSecret, userId: `ZD${suffix}`.slice(0, 8), redirectUrl: `${server.url}/brokers/zerodha/callback` });
    kite.setPostbackUrl(apiKey, `${server.url}/brokers/zerodha/postback`);
    const started = await gql(
      server,
      `mutation($c:JSON!){ startBrokerConnection(broker:"zerodha", credentials:$c, label:"main"){ connection { ${CONN} } authorizationUrl } }`,
      { c: { apiKey, apiSecret } },
      token,
    );
    expect(started.errors).toBeUndefined();
    const start = started.data!.startBrokerConnection;
    expect(start.connection.status).toBe('PENDING');
    const url = new URL(start.authorizationUrl);
    expect(url.origin + url.pathname).toBe(`${kite.url}/connect/login`);
    expect(url.searchParams.get('v')).toBe('3');
    expect(url.searchParams.get('api_key')).toBe(apiKey);
    const state = new URLSearchParams(url.searchParams.get('redirect_params') ?? '').get('state');
    expect(state).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(JSON.stringify(started)).not.toContain(apiSecret);

    // The user logs in at Kite, which redirects back to our callback with request_token and state.
    const login = await fetch(start.authorizationUrl, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const back = await fetch(login.headers.get('location')!);
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('connected');
    return { apiKey, apiSecret, connectionId: start.connection.id as string, state: state! };
  }

  it('connects through the redirect, binds the state to the connection once, and never returns a secret', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'A1');
    const list = await must(server, `{ brokerConnections { ${CONN} } }`, {}, u.token);
    const conn = list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId);
    expect(conn).toMatchObject({ broker: 'zerodha', status: 'ACTIVE', accountId: 'ZDA1', label: 'main' });
    expect(new Date(conn.expiresAt).getTime()).toBeGreaterThan(Date.now());
    // Kite's tokens end at 06:00 IST (00:30 UTC).
    expect(new Date(conn.expiresAt).toISOString().slice(11, 16)).toBe('00:30');

    // The state was single-use: replaying the callback fails without touching the connection.
    const replay = await fetch(`${server.url}/brokers/zerodha/callback?status=success&request_token=x&state=${c.state}`);
    expect(replay.status).toBe(400);

    // Someone else cannot see or complete it.
    const other = await newUser(server);
    const theirs = await gql(server, `mutation($id:ID!){ disconnectBroker(id:$id){ id } }`, { id: c.connectionId }, other.token);
    expect(errorCode(theirs)).toBe('NOT_FOUND');

    const brokers = await must(server, `{ brokers { name authFlow displayName markets } }`, {}, u.token);
    expect(brokers.brokers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'zerodha', authFlow: 'OAUTH_REDIRECT' }), expect.objectContaining({ name: 'paper', authFlow: 'NONE' })]));

    // Sealed at rest: neither the secret nor the access token is in the row in clear.
    const [row] = await server.app.db.db.select().from(brokerConnections).where(eq(brokerConnections.id, c.connectionId));
    expect(row.credentialsSealed).toMatch(/^v1\./);
    expect(row.credentialsSealed).not.toContain(c.apiSecret);
  });

  it('refuses bad credentials with BAD_USER_INPUT naming the field', async () => {
    const u = await newUser(server);
    const r = await gql(server, `mutation{ startBrokerConnection(broker:"zerodha", credentials:{apiKey:"kite1"}){ authorizationUrl } }`, {}, u.token);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].extensions?.field).toBe('credentials.apiSecret');
  });

  it('trades on a portfolio bound to the connection: the exact order goes to Kite, fills arrive once despite duplicate postbacks', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'B2');
    kite.duplicatePushes = true;
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"kite", brokerConnectionId:$c){ id broker } }`, { c: c.connectionId }, u.token);
    expect(p.createPortfolio.broker).toBe('zerodha');
    const pid = p.createPortfolio.id;
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000"){ id } }`, { p: pid }, u.token);

    kite.nextOrders.push({ fills: ['2', '3'] });
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'MARKET', quantity: '5' });
    const done = await waitForStatus(server, u.token, order.id, ['FILLED']);
    expect(done.fills).toHaveLength(2);
    expect(done.fills.map((f: { quantity: string }) => f.quantity).sort()).toEqual(['2.00', '3.00']);
    expect(done.averageFillPrice).toBe('1612.30');

    const placed = kite.requests.filter((r) => r.method === 'POST' && r.path === '/orders/regular' && r.headers.authorization?.startsWith(`token ${c.apiKey}:`));
    expect(placed).toHaveLength(1);
    expect(placed[0].contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(placed[0].form)).toMatchObject({ tradingsymbol: 'INFY', exchange: 'NSE', transaction_type: 'BUY', order_type: 'MARKET', quantity: '5', product: 'CNC', validity: 'DAY' });
    expect(placed[0].form.get('tag')).toMatch(/^[0-9a-f]{20}$/);
    kite.duplicatePushes = false;
  });

  it('finds a fill whose postback was lost by polling the books', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'C3');
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"kite", brokerConnectionId:$c){ id } }`, { c: c.connectionId }, u.token);
    const pid = p.createPortfolio.id;
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000"){ id } }`, { p: pid }, u.token);
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'LIMIT', limitPrice: '1500.00', quantity: '3' });
    const open = await waitForStatus(server, u.token, order.id, ['OPEN']);
    kite.dropPushes = true; // no postback
    kite.dropStream = true; // and no WebSocket order update
    try {
      kite.fillRest(open.brokerOrderId);
      const done = await waitForStatus(server, u.token, order.id, ['FILLED']);
      expect(done.fills).toHaveLength(1);
    } finally {
      kite.dropPushes = false;
      kite.dropStream = false;
    }
  });

  it('an expired session makes the connection EXPIRED, fails the order with BROKER_AUTH_REQUIRED, and retries nothing until reconnected', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'D4');
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"kite", brokerConnectionId:$c){ id } }`, { c: c.connectionId }, u.token);
    const pid = p.createPortfolio.id;
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000"){ id } }`, { p: pid }, u.token);

    // The token dies between the API's check and the worker's call: Kite answers 403 TokenException.
    kite.failNext.push({ path: /^POST \/orders\/regular$/, status: 403, body: { status: 'error', message: 'Incorrect `api_key` or `access_token`.', error_type: 'TokenException' } });
    const first = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'MARKET', quantity: '1' });
    const failed = await waitForStatus(server, u.token, first.id, ['FAILED']);
    expect(failed.rejectReason).toContain('BROKER_AUTH_REQUIRED');
    const list = await must(server, `{ brokerConnections { id status lastError } }`, {}, u.token);
    expect(list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId).status).toBe('EXPIRED');
    // The user hears of it (broker_connection.expired).
    await waitFor('the broker_connection.expired notification', async () => {
      const n = await must(server, `{ notifications(first: 20) { edges { node { kind body data } } } }`, {}, u.token);
      const hit = n.notifications.edges.find((e: { node: { kind: string; data: { connectionId?: string } } }) => e.node.kind === 'broker_connection.expired' && e.node.data.connectionId === c.connectionId);
      return Boolean(hit);
    }, 15_000);
    kite.expireAllTokens(c.apiKey); // and Kite's 06:00 reset

    const before = kite.requests.length;
    const second = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'MARKET', quantity: '1' } }, u.token);
    expect(errorCode(second)).toBe('BROKER_AUTH_REQUIRED');
    expect(second.errors?.[0].message).toMatch(/reconnect/i);
    await new Promise((r) => setTimeout(r, 800)); // several poll intervals
    expect(kite.requests.slice(before).filter((r) => r.headers.authorization?.includes(c.apiKey))).toHaveLength(0);

    // Reconnecting the same connection brings it back, and the portfolio trades again.
    const again = await must(server, `mutation($id:ID){ startBrokerConnection(broker:"zerodha", credentials:{}, connectionId:$id){ authorizationUrl } }`, { id: c.connectionId }, u.token);
    const login = await fetch(again.startBrokerConnection.authorizationUrl, { redirect: 'manual' });
    expect((await fetch(login.headers.get('location')!)).status).toBe(200);
    const third = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'MARKET', quantity: '1' });
    await waitForStatus(server, u.token, third.id, ['FILLED']);
  });

  it('a session past its 06:00 IST expiry is refused before any call to Kite', async () => {
    const u = await newUser(server);
    const c = await connect(u.token, 'E5');
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"kite", brokerConnectionId:$c){ id } }`, { c: c.connectionId }, u.token);
    await server.app.db.db.update(brokerConnections).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(brokerConnections.id, c.connectionId));
    const r = await gql(server, `mutation($i:PlaceOrderInput!){ placeOrder(input:$i){ id } }`, { i: { portfolioId: p.createPortfolio.id, symbol: 'INFY', side: 'SELL', type: 'MARKET', quantity: '1' } }, u.token);
    expect(errorCode(r)).toBe('BROKER_AUTH_REQUIRED');
    const list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
    expect(list.brokerConnections.find((x: { id: string }) => x.id === c.connectionId).status).toBe('EXPIRED');
  });

  it('refuses a postback whose checksum does not verify', async () => {
    const r = await fetch(`${server.url}/brokers/zerodha/postback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'ZDA1', order_id: '1', order_timestamp: '2026-01-05 10:00:00', checksum: 'f'.repeat(64), status: 'COMPLETE' }),
    });
    expect(r.status).toBe(401);
  });

  it('never logs an API secret, access token or request token', async () => {
    await waitFor('some log lines', () => logLines.length > 0);
    const all = logLines.join('');
    expect(all).not.toMatch(/kite-secret-/);
    const tokens = kite.requests.flatMap((r) => /^token [^:]+:(.+)$/.exec(String(r.headers.authorization ?? ''))?.[1] ?? []);
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of new Set(tokens)) expect(all).not.toContain(t);
    const rts = kite.requests.flatMap((r) => r.form.get('request_token') ?? []);
    for (const t of rts) expect(all).not.toContain(t);
    void sql;
  });
});
