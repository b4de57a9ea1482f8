import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, gql, must, waitFor, wsClient } from './support/gql.js';
import { createFundedPortfolio } from './support/trading.js';
import { AccessTokens } from '../src/auth/tokens.js';

type BalanceEv = { balanceChanged: { sequence: number; cash: string } };
const BALANCES = `subscription($p:ID,$a:Int){ balanceChanged(portfolioId:$p, afterSequence:$a){ sequence cash } }`;

/** The close code the socket ends with. */
function closeCode(client: Client): Promise<number> {
  return new Promise((resolve) => client.on('closed', (e) => resolve((e as { code: number }).code)));
}

describe.each(modes())('a socket lives no longer than its credentials (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MARKET_SIM: 'false' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  async function login() {
    const email = `life-${Math.random().toString(36).slice(2)}@example.com`;
    await server.app.services.auth.register({ email, password: 'correct-horse-battery' });
    const r = await server.app.services.auth.login(email, 'correct-horse-battery');
    return { token: r.accessToken, refreshToken: r.refreshToken, id: r.user.id };
  }

  async function deposit(token: string, pid: string, amount: string) {
    await must(server, `mutation($p:ID!,$a:Decimal!){ deposit(portfolioId:$p, amount:$a){ id } }`, { p: pid, a: amount }, token);
  }

  it('closes with 4401 when the access token expires; a reconnect with a new token and afterSequence misses nothing', async () => {
    const u = await login();
    const pid = await createFundedPortfolio(server, u.token, { amount: '0' });
    // An access token of the same login that lives 3 seconds. Under load the socket may expire before the
    // first deposit reaches it; the property is the same either way: what the first socket saw, then a
    // reconnect from its last sequence, is every balance change exactly once and in order.
    const shortLived = await new AccessTokens(server.config.jwtSecret, 3).sign({ userId: u.id, role: 'CLIENT', sessionId: undefined });
    const first = wsClient(server, shortLived);
    const closed = closeCode(first);
    const before = collect<BalanceEv>(first, BALANCES, { p: pid, a: 0 });
    await waitFor('the socket to be live', () => server.app.http!.door.liveSubscriptions(u.id) === 1 || before.isDone());
    await deposit(u.token, pid, '100');
    expect(await closed).toBe(4401);
    expect(before.items.length).toBeLessThanOrEqual(1);
    const lastSeen = before.items.at(-1)?.balanceChanged.sequence ?? 0;

    // While the client has no socket, two more deposits.
    await deposit(u.token, pid, '10');
    await deposit(u.token, pid, '1');
    const second = wsClient(server, u.token);
    const after = collect<BalanceEv>(second, BALANCES, { p: pid, a: lastSeen });
    const missed = 3 - before.items.length;
    await waitFor('the missed deposits', () => after.items.length >= missed);
    await deposit(u.token, pid, '0.5');
    await waitFor('the live deposit', () => after.items.length >= missed + 1);
    const all = [...before.items, ...after.items];
    expect(all.map((e) => Number(e.balanceChanged.cash))).toEqual([100, 110, 111, 111.5]);
    const seqs = after.items.map((e) => e.balanceChanged.sequence);
    expect(seqs[0]).toBeGreaterThan(lastSeen);
    const allSeqs = all.map((e) => e.balanceChanged.sequence);
    expect([...allSeqs].sort((a, b) => a - b)).toEqual(allSeqs);
    expect(new Set(allSeqs).size).toBe(allSeqs.length);
    expect(after.errors).toEqual([]);
    await second.dispose();
  });

  it('closes with 4403 when the login is revoked by logout, and refuses that access token on a new socket', async () => {
    const u = await login();
    const pid = await createFundedPortfolio(server, u.token, { amount: '0' });
    const client = wsClient(server, u.token);
    const closed = closeCode(client);
    const sub = collect<BalanceEv>(client, BALANCES, { p: pid });
    await waitFor('the socket to be live', () => server.app.http!.door.liveSubscriptions(u.id) === 1);
    await must(server, `mutation($r:String!){ logout(refreshToken:$r) }`, { r: u.refreshToken });
    expect(await closed).toBe(4403);
    // HTTP refuses that login's access token at once too.
    await waitFor('HTTP to refuse the revoked login', async () => (await gql(server, '{ me { id } }', {}, u.token)).errors?.[0]?.extensions?.code === 'UNAUTHENTICATED', 5000);
    await waitFor('the subscription to end with the socket', () => sub.isDone());

    const again = wsClient(server, u.token);
    const refused = closeCode(again);
    collect(again, BALANCES, { p: pid });
    expect(await refused).toBe(4403);
    await again.dispose();
  });

  it('keeps the sockets of another login of the same user open on logout', async () => {
    const u = await login();
    const other = await server.app.services.auth.login((await server.app.services.users.byId(u.id))!.email, 'correct-horse-battery');
    const pid = await createFundedPortfolio(server, u.token, { amount: '0' });
    const kept = wsClient(server, other.accessToken);
    const sub = collect<BalanceEv>(kept, BALANCES, { p: pid });
    await waitFor('live', () => server.app.http!.door.liveSubscriptions(u.id) === 1);
    await must(server, `mutation($r:String!){ logout(refreshToken:$r) }`, { r: u.refreshToken });
    await deposit(other.accessToken, pid, '5');
    await waitFor('the deposit on the other login’s socket', () => sub.items.length === 1);
    expect(sub.isDone()).toBe(false);
    await kept.dispose();
  });
});
