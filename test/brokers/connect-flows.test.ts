import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { modes } from '../support/env.js';
import { errorCode, gql, must, newUser } from '../support/gql.js';
import { AngelOneFake } from './fakes/angelone.js';
import { GrowwFake } from './fakes/groww.js';
import { UpstoxFake } from './fakes/upstox.js';
import { FyersFake } from './fakes/fyers.js';
import { eq } from 'drizzle-orm';
import { brokerConnections } from '../../src/db/schema/index.js';

/** The login flows other than Kite's, through GraphQL against each broker's fake. */
describe.each(modes())('broker login flows (%s)', { timeout: 90_000 }, (mode) => {
  let server: TestServer;
  let angel: AngelOneFake;
  let groww: GrowwFake;
  let upstox: UpstoxFake;
  let fyers: FyersFake;

  beforeAll(async () => {
    [angel, groww, upstox, fyers] = await Promise.all([new AngelOneFake().start(), new GrowwFake().start(), new UpstoxFake().start(), new FyersFake().start()]);
    server = await startTestServer({
      mode,
      env: {
        BROKER_ANGELONE_BASE_URL: angel.url,
        BROKER_GROWW_BASE_URL: groww.url,
        BROKER_UPSTOX_BASE_URL: upstox.url,
        BROKER_UPSTOX_LOGIN_URL: `${upstox.url}/v2/login/authorization/dialog`,
        BROKER_FYERS_BASE_URL: fyers.url,
        BROKER_FYERS_LOGIN_URL: `${fyers.url}/api/v3/generate-authcode`,
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([angel?.stop(), groww?.stop(), upstox?.stop(), fyers?.stop()]);
  });

  it('lists every broker with its auth flow', async () => {
    const u = await newUser(server);
    const d = await must(server, `{ brokers { name authFlow } }`, {}, u.token);
    expect(Object.fromEntries(d.brokers.map((b: { name: string; authFlow: string }) => [b.name, b.authFlow]))).toMatchObject({
      paper: 'NONE',
      zerodha: 'OAUTH_REDIRECT',
      upstox: 'OAUTH_REDIRECT',
      fyers: 'OAUTH_REDIRECT',
      angelone: 'LOGIN_TOTP',
      groww: 'API_KEY',
    });
  });

  it('Angel One: start with API key and client code, complete with PIN and TOTP; a wrong TOTP leaves it in ERROR', async () => {
    const u = await newUser(server);
    angel.addClient('AB1234', 'smartkey', '2468', '135790');
    const start = await must(server, `mutation{ startBrokerConnection(broker:"angelone", credentials:{apiKey:"smartkey", clientCode:"AB1234"}){ connection { id status } authorizationUrl } }`, {}, u.token);
    expect(start.startBrokerConnection).toMatchObject({ connection: { status: 'PENDING' }, authorizationUrl: null });
    const id = start.startBrokerConnection.connection.id;
    const bad = await gql(server, `mutation($id:ID!){ completeBrokerConnection(connectionId:$id, credentials:{pin:"2468", totp:"000000"}){ status } }`, { id }, u.token);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(bad)).not.toContain('2468');

    const again = await must(server, `mutation($id:ID){ startBrokerConnection(broker:"angelone", credentials:{}, connectionId:$id){ connection { id status } } }`, { id }, u.token);
    expect(again.startBrokerConnection.connection).toEqual({ id, status: 'PENDING' });
    const done = await must(server, `mutation($id:ID!){ completeBrokerConnection(connectionId:$id, credentials:{pin:"2468", totp:"135790"}){ status accountId expiresAt } }`, { id }, u.token);
    expect(done.completeBrokerConnection).toMatchObject({ status: 'ACTIVE', accountId: 'AB1234' });
    expect(angel.requests.filter((r) => r.path.endsWith('/loginByPassword'))).toHaveLength(2);
  });

  it('Angel One down during the login: BROKER_UNAVAILABLE, the connection stays PENDING, and the same completion succeeds later', async () => {
    const u = await newUser(server);
    angel.addClient('AB5678', 'smartkey2', '1357', '246801');
    const start = await must(server, `mutation{ startBrokerConnection(broker:"angelone", credentials:{apiKey:"smartkey2", clientCode:"AB5678"}){ connection { id } } }`, {}, u.token);
    const id = start.startBrokerConnection.connection.id;
    angel.failNext.push({ path: /loginByPassword$/, status: 503, body: { status: false, message: 'Service Unavailable', errorcode: 'AB1004', data: null } });
    const down = await gql(server, `mutation($id:ID!){ completeBrokerConnection(connectionId:$id, credentials:{pin:"1357", totp:"246801"}){ status } }`, { id }, u.token);
    expect(errorCode(down)).toBe('BROKER_UNAVAILABLE');
    expect(down.errors?.[0].extensions?.broker).toBe('angelone');
    expect(JSON.stringify(down)).not.toMatch(/1357|Service Unavailable/);
    const list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
    expect(list.brokerConnections.find((c: { id: string }) => c.id === id).status).toBe('PENDING');
    const done = await must(server, `mutation($id:ID!){ completeBrokerConnection(connectionId:$id, credentials:{pin:"1357", totp:"246801"}){ status accountId } }`, { id }, u.token);
    expect(done.completeBrokerConnection).toMatchObject({ status: 'ACTIVE', accountId: 'AB5678' });
  });

  it('Groww: an access token connects at once; disconnecting revokes it and erases the credentials', async () => {
    const u = await newUser(server);
    const token = groww.addUser('gw-user');
    const start = await must(server, `mutation($c:JSON!){ startBrokerConnection(broker:"groww", credentials:$c){ connection { id status expiresAt } authorizationUrl } }`, { c: { accessToken: token } }, u.token);
    expect(start.startBrokerConnection.connection.status).toBe('ACTIVE');
    expect(JSON.stringify(start)).not.toContain(token);
    const id = start.startBrokerConnection.connection.id;
    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"gw", brokerConnectionId:$c){ broker } }`, { c: id }, u.token);
    expect(p.createPortfolio.broker).toBe('groww');
    const off = await must(server, `mutation($id:ID!){ disconnectBroker(id:$id){ status } }`, { id }, u.token);
    expect(off.disconnectBroker.status).toBe('REVOKED');
    const none = await gql(server, `mutation($c:ID){ createPortfolio(name:"gw2", brokerConnectionId:$c){ id } }`, { c: id }, u.token);
    expect(errorCode(none)).toBe('NOT_FOUND');
  });

  it('Upstox: the OAuth redirect comes back to /brokers/upstox/callback with code and state', async () => {
    const u = await newUser(server);
    upstox.addApp({ apiKey: 'upkey-1', apiSecret: 'upsecret-1', userId: 'UPUSER1' });
    const start = await must(server, `mutation{ startBrokerConnection(broker:"upstox", credentials:{apiKey:"upkey-1", apiSecret:"upsecret-1"}){ connection { id } authorizationUrl } }`, {}, u.token);
    const url = new URL(start.startBrokerConnection.authorizationUrl);
    expect(url.searchParams.get('redirect_uri')).toMatch(/\/brokers\/upstox\/callback$/);
    // The redirect URI is PUBLIC_URL-based; follow the broker's redirect to this test server instead.
    const login = await fetch(url, { redirect: 'manual' });
    const back = new URL(login.headers.get('location')!);
    const cb = await fetch(`${server.url}/brokers/upstox/callback${back.search}`);
    expect(cb.status).toBe(200);
    const list = await must(server, `{ brokerConnections { id status accountId } }`, {}, u.token);
    expect(list.brokerConnections).toEqual([{ id: start.startBrokerConnection.connection.id, status: 'ACTIVE', accountId: 'UPUSER1' }]);
  });

  it('Upstox: a token exchange answered 5xx is not a refusal: the callback says to try again, the connection stays PENDING, and the same code then connects', async () => {
    const u = await newUser(server);
    upstox.addApp({ apiKey: 'upkey-2', apiSecret: 'upsecret-2', userId: 'UPUSER2' });
    const start = await must(server, `mutation{ startBrokerConnection(broker:"upstox", credentials:{apiKey:"upkey-2", apiSecret:"upsecret-2"}){ connection { id } authorizationUrl } }`, {}, u.token);
    const id = start.startBrokerConnection.connection.id;
    const back = new URL((await fetch(new URL(start.startBrokerConnection.authorizationUrl), { redirect: 'manual' })).headers.get('location')!);
    upstox.failNext.push({ path: /\/login\/authorization\/token$/, status: 502, body: { status: 'error', errors: [{ message: 'Bad Gateway' }] } });
    const down = await fetch(`${server.url}/brokers/upstox/callback${back.search}`);
    expect(down.status).toBe(400);
    expect(await down.text()).toMatch(/unavailable; try again later/);
    let list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
    expect(list.brokerConnections.find((c: { id: string }) => c.id === id).status).toBe('PENDING');
    expect((await fetch(`${server.url}/brokers/upstox/callback${back.search}`)).status).toBe(200);
    list = await must(server, `{ brokerConnections { id status } }`, {}, u.token);
    expect(list.brokerConnections.find((c: { id: string }) => c.id === id).status).toBe('ACTIVE');
  });

  it('Fyers: an expired session with a refresh token and PIN renews itself on the next call; without the PIN it is EXPIRED', async () => {
    const u = await newUser(server);
    fyers.addApp('FYAPP12345-100', 'fysecret', { pin: '9876' });
    const connect = async (creds: Record<string, string>) => {
      const start = await must(server, `mutation($c:JSON!){ startBrokerConnection(broker:"fyers", credentials:$c){ connection { id } authorizationUrl } }`, { c: creds }, u.token);
      const back = new URL((await fetch(start.startBrokerConnection.authorizationUrl, { redirect: 'manual' })).headers.get('location')!);
      expect((await fetch(`${server.url}/brokers/fyers/callback${back.search}`)).status).toBe(200);
      const id = start.startBrokerConnection.connection.id as string;
      await server.app.db.db.update(brokerConnections).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(brokerConnections.id, id));
      return id;
    };
    const withPin = await connect({ appId: 'FYAPP12345-100', secretKey: 'fysecret', pin: '9876' });
    const withoutPin = await connect({ appId: 'FYAPP12345-100', secretKey: 'fysecret' });
    const status = async () => Object.fromEntries((await must(server, `{ brokerConnections { id status } }`, {}, u.token)).brokerConnections.map((c: { id: string; status: string }) => [c.id, c.status]));
    expect(await status()).toMatchObject({ [withPin]: 'ACTIVE', [withoutPin]: 'EXPIRED' });

    const adapter = server.app.brokers.get('fyers');
    await adapter.listOrders(withPin);
    expect(fyers.requests.filter((r) => r.path === '/api/v3/validate-refresh-token')).toHaveLength(1);
    const [row] = await server.app.db.db.select().from(brokerConnections).where(eq(brokerConnections.id, withPin));
    expect(row.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    await expect(adapter.listOrders(withoutPin)).rejects.toThrow(/expired|reconnect/i);
    expect(await status()).toMatchObject({ [withPin]: 'ACTIVE', [withoutPin]: 'EXPIRED' });
  });

  it('a paper portfolio needs no connection, a real broker needs one', async () => {
    const u = await newUser(server);
    const r = await gql(server, `mutation{ createPortfolio(name:"x", broker:"zerodha"){ id } }`, {}, u.token);
    expect(errorCode(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].extensions?.field).toBe('brokerConnectionId');
  });
});
