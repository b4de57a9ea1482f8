import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { modes } from '../support/env.js';
import { errorCode, gql, must, newUser, waitFor } from '../support/gql.js';
import { placeOrder, waitForQuote, waitForStatus } from '../support/trading.js';
import { adminEmail, registerAdmin, type Person } from '../support/people.js';
import { AngelOneFake } from './fakes/angelone.js';

const IMPORT = `mutation($b:String!,$c:String!){ importInstruments(broker:$b, content:$c){ imported matched skipped errors { line message } } }`;
const SCRIP_MASTER = JSON.stringify([
  { token: '1594', symbol: 'INFY-EQ', name: 'INFY', expiry: '', strike: '-1.000000', lotsize: '1', instrumenttype: '', exch_seg: 'NSE', tick_size: '5.000000' },
  { token: '99999', symbol: 'NOTOURS-EQ', name: 'NOTOURS', expiry: '', strike: '-1.000000', lotsize: '1', instrumenttype: '', exch_seg: 'NSE', tick_size: '5.000000' },
  { symbol: 'BROKEN-EQ' },
]);

/**
 * An administrator imports Angel One's scrip master through `importInstruments`; a user connects Angel
 * One and trades; with polling at a minute, the fill of a resting order arrives over the order status
 * socket, once although the fake pushes it twice.
 */
describe.each(modes())('instrument import and the Angel One order socket (%s)', { timeout: 90_000 }, (mode) => {
  let server: TestServer;
  let angel: AngelOneFake;
  let admin: Person;

  beforeAll(async () => {
    angel = await new AngelOneFake().start();
    angel.addScrip('1594', { symbol: 'INFY-EQ', exchange: 'NSE', bid: '1611.90', ask: '1612.30', last: '1612.10' });
    server = await startTestServer({
      mode,
      env: {
        ADMIN_EMAIL: adminEmail(),
        BROKER_ANGELONE_BASE_URL: angel.url,
        BROKER_ANGELONE_WS_URL: `${angel.url.replace(/^http/, 'ws')}/smart-order-update`,
        BROKER_POLL_INTERVAL_MS: '60000',
      },
    });
    admin = await registerAdmin(server);
    await waitForQuote(server, 'INFY');
  });
  afterAll(async () => {
    await server?.close();
    await angel?.stop();
  });

  it('imports a master as admin with counts and per-line errors; anyone else is FORBIDDEN; content not in the format is BAD_USER_INPUT with the line', async () => {
    const d = await must(server, IMPORT, { b: 'angelone', c: SCRIP_MASTER }, admin.token);
    expect(d.importInstruments).toEqual({ imported: 2, matched: 1, skipped: 1, errors: [{ line: 3, message: expect.stringMatching(/^entry 3: token, symbol and exch_seg are required/) }] });

    const u = await newUser(server);
    expect(errorCode(await gql(server, IMPORT, { b: 'angelone', c: SCRIP_MASTER }, u.token))).toBe('FORBIDDEN');

    const bad = await gql(server, IMPORT, { b: 'groww', c: 'symbol,token\nINFY,1\n' }, admin.token);
    expect(errorCode(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0].extensions).toMatchObject({ field: 'content', reason: 'BAD_FORMAT', line: 1 });
    const unknown = await gql(server, IMPORT, { b: 'nobroker', c: 'x' }, admin.token);
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'broker' });
  });

  it('a resting order fills by the order status socket alone, once despite a duplicated push', async () => {
    await must(server, IMPORT, { b: 'angelone', c: SCRIP_MASTER }, admin.token);
    const u = await newUser(server);
    angel.addClient('AS0001', 'smartkey-push', '2468', '135790');
    const start = await must(server, `mutation{ startBrokerConnection(broker:"angelone", credentials:{apiKey:"smartkey-push", clientCode:"AS0001"}){ connection { id } } }`, {}, u.token);
    const id = start.startBrokerConnection.connection.id;
    await must(server, `mutation($id:ID!){ completeBrokerConnection(connectionId:$id, credentials:{pin:"2468", totp:"135790"}){ status } }`, { id }, u.token);
    // The socket opens without waiting for a poll pass (polling is at a minute here).
    await waitFor('the order status socket', () => angel.stream.count('AS0001') === 1);

    const p = await must(server, `mutation($c:ID){ createPortfolio(name:"ao", brokerConnectionId:$c){ id } }`, { c: id }, u.token);
    const pid = p.createPortfolio.id;
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000"){ id } }`, { p: pid }, u.token);
    const order = await placeOrder(server, u.token, { portfolioId: pid, symbol: 'INFY', side: 'BUY', type: 'LIMIT', limitPrice: '1500.00', quantity: '3' });
    const open = await waitForStatus(server, u.token, order.id, ['OPEN']);
    const sent = angel.requests.find((r) => r.path.endsWith('/placeOrder'))!;
    expect(sent.json).toMatchObject({ tradingsymbol: 'INFY-EQ', symboltoken: '1594' });

    angel.stream.duplicate = true;
    try {
      angel.fillRest(open.brokerOrderId);
      const done = await waitForStatus(server, u.token, order.id, ['FILLED']);
      expect(done.fills).toHaveLength(1);
      expect(done.fills[0].quantity).toBe('3.00');
    } finally {
      angel.stream.duplicate = false;
    }
    // Nothing read the order book: the poller never ran; the fill came by the socket.
    expect(angel.requests.filter((r) => r.path.endsWith('/getOrderBook'))).toHaveLength(0);
  });
});
