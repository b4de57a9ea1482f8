/**
 * Open subscriptions follow the access policy after they opened: an advisor unassigned from a client
 * stops receiving the client's events at once (a stream of the client's portfolio ends with NOT_FOUND;
 * an unfiltered stream goes on without the client's portfolios), and so does a demoted advisor. The
 * client's own streams are untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, must, newUser, sleep, waitFor, wsClient } from './support/gql.js';
import { adminEmail, assign, registerAdmin, setRole, type Person } from './support/people.js';
import { createFundedPortfolio } from './support/trading.js';

type Balance = { balanceChanged: { sequence: number; portfolioId: string; reason: string } };
const FILTERED = `subscription($p:ID!){ balanceChanged(portfolioId:$p){ sequence portfolioId reason } }`;
const ALL = `subscription{ balanceChanged{ sequence portfolioId reason } }`;
const ORDERS = `subscription{ orderUpdated{ sequence order { id } } }`;

describe.each(modes())('open subscriptions after an access change (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    admin = await registerAdmin(server);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const deposit = (who: Person, p: string, amount: string) => must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p, a: amount }, who.token);

  const firm = async () => {
    const [advisor, client] = await Promise.all([newUser(server, 'sa-advisor'), newUser(server, 'sa-client')]);
    await setRole(server, admin, advisor.id, 'ADVISOR');
    await assign(server, admin, client.id, advisor.id);
    const clientPortfolio = await createFundedPortfolio(server, client.token, { amount: '100000' });
    const ownPortfolio = await createFundedPortfolio(server, advisor.token, { amount: '1000' });
    return { advisor, client, clientPortfolio, ownPortfolio };
  };

  it('an unassigned advisor gets nothing more of the ex-client: the filtered stream ends NOT_FOUND, the unfiltered one keeps only their own', async () => {
    const { advisor, client, clientPortfolio, ownPortfolio } = await firm();
    const adv = wsClient(server, advisor.token);
    const own = wsClient(server, client.token);
    const filtered = collect<Balance>(adv, FILTERED, { p: clientPortfolio });
    const all = collect<Balance>(adv, ALL);
    const orders = collect(adv, ORDERS);
    const clients = collect<Balance>(own, FILTERED, { p: clientPortfolio });
    await sleep(300); // the subscriptions are live
    await deposit(client, clientPortfolio, '100');
    await waitFor('the advisor sees the client deposit', () => filtered.items.length === 1 && all.items.length === 1 && clients.items.length === 1);

    await assign(server, admin, client.id, null);
    // The stream of the client's portfolio ends at once with NOT_FOUND, before any further event.
    await waitFor('the filtered stream ends', () => filtered.isDone());
    expect(JSON.stringify(filtered.errors)).toMatch(/NOT_FOUND/);
    await deposit(client, clientPortfolio, '4321');
    await deposit(advisor, ownPortfolio, '7');
    await waitFor('the client still sees their own deposit', () => clients.items.length === 2);
    await waitFor('the advisor sees their own deposit', () => all.items.length === 2);
    await sleep(200);
    expect(filtered.items).toHaveLength(1);
    expect(all.items.map((i) => i.balanceChanged.portfolioId)).toEqual([clientPortfolio, ownPortfolio]);
    expect(all.isDone()).toBe(false);
    expect(orders.items).toHaveLength(0);
    expect(clients.isDone()).toBe(false);
    for (const s of [all, orders, clients]) s.dispose();
    await Promise.all([adv.dispose(), own.dispose()]);
  }, 60_000);

  it('a demoted advisor gets nothing more of their clients', async () => {
    const { advisor, client, clientPortfolio } = await firm();
    const adv = wsClient(server, advisor.token);
    const all = collect<Balance>(adv, ALL);
    const filtered = collect<Balance>(adv, FILTERED, { p: clientPortfolio });
    await sleep(300);
    await deposit(client, clientPortfolio, '100');
    await waitFor('the advisor sees the client deposit', () => all.items.length === 1 && filtered.items.length === 1);
    await setRole(server, admin, advisor.id, 'CLIENT');
    await waitFor('the filtered stream ends', () => filtered.isDone());
    expect(JSON.stringify(filtered.errors)).toMatch(/NOT_FOUND/);
    await deposit(client, clientPortfolio, '200');
    await sleep(500);
    expect(all.items).toHaveLength(1);
    all.dispose();
    await adv.dispose();
  }, 60_000);
});
