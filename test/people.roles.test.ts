import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { adminEmail, createApiKey, setupFirm } from './support/people.js';
import { placeOrder } from './support/trading.js';

describe.each(modes())('roles, API keys and the audit log (%s)', (mode) => {
  let server: TestServer;
  let firm: Awaited<ReturnType<typeof setupFirm>>;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    firm = await setupFirm(server);
  }, 180_000);
  afterAll(async () => {
    await server?.close();
  });

  it('lets the admin list and search everyone, an advisor only their clients, and refuses a client', async () => {
    const all = await must<{ users: { edges: { node: { id: string; role: string } }[] } }>(server, `{ users(first: 100) { edges { node { id role } } } }`, {}, firm.admin.token);
    const ids = all.users.edges.map((e) => e.node.id);
    expect(ids).toEqual(expect.arrayContaining([firm.owner.id, firm.otherClient.id, firm.advisorA.id, firm.advisorB.id]));
    const advisors = await must<{ users: { edges: { node: { id: string } }[] } }>(server, `{ users(role: ADVISOR) { edges { node { id } } } }`, {}, firm.admin.token);
    expect(advisors.users.edges.map((e) => e.node.id).sort()).toEqual([firm.advisorA.id, firm.advisorB.id].sort());
    const search = await must<{ users: { edges: { node: { id: string } }[] } }>(server, `query($s:String){ users(search:$s) { edges { node { id } } } }`, { s: firm.owner.email.slice(0, 20) }, firm.admin.token);
    expect(search.users.edges.map((e) => e.node.id)).toContain(firm.owner.id);

    const mine = await must<{ users: { edges: { node: { id: string } }[] } }>(server, `{ users { edges { node { id } } } }`, {}, firm.advisorA.token);
    expect(mine.users.edges.map((e) => e.node.id)).toEqual([firm.owner.id]);
    expect(errorCode(await gql(server, `{ users { edges { node { id } } } }`, {}, firm.owner.token))).toBe('FORBIDDEN');
  });

  it("shows an advisor their clients' portfolios, positions and orders read-only", async () => {
    const order = await placeOrder(server, firm.owner.token, { portfolioId: firm.portfolioId, symbol: 'TCS', side: 'BUY', type: 'LIMIT', quantity: '1', limitPrice: '1.00' });
    const view = await must<{ me: { clients: { id: string; portfolios: { id: string; orders: { edges: { node: { id: string } }[] } }[] }[] } }>(
      server,
      `{ me { clients { id portfolios { id cash positions { quantity } orders { edges { node { id } } } } } } }`,
      {},
      firm.advisorA.token,
    );
    expect(view.me.clients.map((c) => c.id)).toEqual([firm.owner.id]);
    expect(view.me.clients[0].portfolios[0].orders.edges.map((e) => e.node.id)).toContain(order.id);
    expect((await must(server, `query($id:ID!){ order(id:$id){ id } }`, { id: order.id }, firm.advisorA.token)).order.id).toBe(order.id);
    // Read-only: cancel, deposit and trading are refused; the other advisor does not even see it.
    expect(errorCode(await gql(server, `mutation($id:ID!){ cancelOrder(id:$id){ id } }`, { id: order.id }, firm.advisorA.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1"){ id } }`, { p: firm.portfolioId }, firm.advisorA.token))).toBe('FORBIDDEN');
    const other = await gql(server, `query($id:ID!){ order(id:$id){ id } }`, { id: order.id }, firm.advisorB.token);
    expect(errorCode(other)).toBe('NOT_FOUND');
    expect(errorCode(await gql(server, `query($id:ID!){ portfolio(id:$id){ id } }`, { id: firm.portfolioId }, firm.advisorB.token))).toBe('NOT_FOUND');
  });

  it('refuses role and advisor changes to non-admins, and checks who can be whose advisor', async () => {
    const u = await newUser(server);
    for (const who of [firm.owner, firm.advisorA]) {
      expect(errorCode(await gql(server, `mutation($u:ID!){ setUserRole(userId:$u, role:ADMIN){ id } }`, { u: u.id }, who.token))).toBe('FORBIDDEN');
      expect(errorCode(await gql(server, `mutation($u:ID!,$a:ID){ assignAdvisor(clientId:$u, advisorId:$a){ id } }`, { u: u.id, a: firm.advisorA.id }, who.token))).toBe('FORBIDDEN');
    }
    const notAdvisor = await gql(server, `mutation($u:ID!,$a:ID){ assignAdvisor(clientId:$u, advisorId:$a){ id } }`, { u: u.id, a: firm.otherClient.id }, firm.admin.token);
    expect(notAdvisor.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'NOT_AN_ADVISOR' });
    // A role change takes effect on the next request, with the same access token.
    await must(server, `mutation($u:ID!){ setUserRole(userId:$u, role:ADVISOR){ id } }`, { u: u.id }, firm.admin.token);
    expect((await must(server, `{ me { role } }`, {}, u.token)).me.role).toBe('ADVISOR');
    expect((await must(server, `{ users { edges { node { id } } } }`, {}, u.token)).users.edges).toEqual([]);
  });

  it('promotes ADMIN_EMAIL at start when that user registered before', async () => {
    // What startApp runs with the configured ADMIN_EMAIL (a second embedded server would not share the database).
    const early = await newUser(server, 'early');
    expect((await must(server, `{ me { role } }`, {}, early.token)).me.role).toBe('CLIENT');
    await server.app.services.people.promoteConfiguredAdmin(early.email.toUpperCase());
    expect((await must(server, `{ me { role } }`, {}, early.token)).me.role).toBe('ADMIN');
  });

  it('authenticates API keys on HTTP and sockets; READ cannot mutate, TRADE can; lastUsedAt; revocation at once', async () => {
    const me = await must(server, `{ me { id } portfolios { id } }`, {}, firm.readKey.token);
    expect(me.me.id).toBe(firm.owner.id);
    const refused = await gql(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"5"){ id } }`, { p: firm.portfolioId }, firm.readKey.token);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(refused.data ?? null).toBeNull();
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"5"){ id } }`, { p: firm.portfolioId }, firm.tradeKey.token);
    // Keys do not mint keys.
    expect(errorCode(await gql(server, `mutation { createApiKey(name:"x", scopes:[READ]){ secret } }`, {}, firm.tradeKey.token))).toBe('FORBIDDEN');

    const keys = await must<{ apiKeys: { id: string; prefix: string; scopes: string[]; lastUsedAt: string | null }[] }>(server, `{ apiKeys { id prefix scopes lastUsedAt revokedAt } }`, {}, firm.owner.token);
    const read = keys.apiKeys.find((k) => k.id === firm.readKey.id)!;
    expect(read.prefix).toBe(firm.readKey.token.slice(0, 11));
    expect(read.prefix).toMatch(/^tg_/);
    expect(read.scopes).toEqual(['READ']);
    expect(read.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(keys)).not.toContain(firm.readKey.token);
    const stored = await server.app.db.db.execute(sql`select key_hash from api_keys where id = ${firm.readKey.id}`);
    expect(JSON.stringify(stored)).not.toContain(firm.readKey.token.slice(3));

    // Socket with a key: works, then the key is revoked and the next operation on the same socket is refused.
    const key = await createApiKey(server, firm.owner, ['READ']);
    const client = wsClient(server, key.token);
    const keepOpen = collect(client, `subscription { balanceChanged { sequence } }`);
    const first = collect<{ me: { id: string } }>(client, `{ me { id } }`);
    await waitFor('me over a socket', () => first.items.length > 0);
    expect(first.items[0].me.id).toBe(firm.owner.id);
    await must(server, `mutation($id:ID!){ revokeApiKey(id:$id){ revokedAt } }`, { id: key.id }, firm.owner.token);
    expect(errorCode(await gql(server, `{ me { id } }`, {}, key.token))).toBe('UNAUTHENTICATED');
    const second = collect(client, `{ me { id } }`);
    await waitFor('refusal over a socket', () => second.errors.length > 0);
    expect(JSON.stringify(second.errors)).toMatch(/UNAUTHENTICATED/);
    expect(keepOpen.isDone()).toBe(false); // the same socket: refused per operation
    keepOpen.dispose();
    await client.dispose();
    // Someone else cannot revoke your key.
    expect(errorCode(await gql(server, `mutation($id:ID!){ revokeApiKey(id:$id){ id } }`, { id: firm.tradeKey.id }, firm.otherClient.token))).toBe('NOT_FOUND');
  });

  it('refuses webhooks to loopback and private addresses by default', async () => {
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://10.0.0.5/hook', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/hook']) {
      const r = await gql(server, `mutation($u:String!){ createWebhook(url:$u, events:["order.filled"]){ secret } }`, { u: url }, firm.owner.token);
      expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url', reason: 'UNSAFE_URL' });
    }
  });

  it('chains the audit log, lists it for admins only, and finds the first tampered entry', async () => {
    await gql(server, `mutation($e:String!){ login(email:$e, password:"wrong-password-123"){ accessToken } }`, { e: firm.owner.email });
    await must(server, `mutation($e:String!,$p:String!){ login(email:$e, password:$p){ accessToken } }`, { e: firm.owner.email, p: firm.owner.password });
    const log = await must<{ auditLog: { edges: { node: { id: string; action: string; actor: { id: string } | null; subjectId: string | null } }[] } }>(
      server,
      `{ auditLog(first: 100) { edges { node { id action subjectId actor { id } hash } } } }`,
      {},
      firm.admin.token,
    );
    const actions = log.auditLog.edges.map((e) => e.node.action);
    for (const a of ['auth.login', 'auth.login_failed', 'user.role_changed', 'user.advisor_assigned', 'api_key.created', 'api_key.revoked', 'order.placed']) {
      expect(actions).toContain(a);
    }
    const failed = await must(server, `{ auditLog(action: "auth.login_failed") { edges { node { subjectId } } } }`, {}, firm.admin.token);
    expect(failed.auditLog.edges.map((e: { node: { subjectId: string } }) => e.node.subjectId)).toContain(firm.owner.id);
    for (const who of [firm.owner, firm.advisorA, firm.tradeKey]) {
      expect(errorCode(await gql(server, `{ auditLog { edges { node { id } } } }`, {}, who.token))).toBe('FORBIDDEN');
      expect(errorCode(await gql(server, `{ verifyAuditLog { valid } }`, {}, who.token))).toBe('FORBIDDEN');
    }

    const ok = await must(server, `{ verifyAuditLog { valid entries firstBrokenId } }`, {}, firm.admin.token);
    expect(ok.verifyAuditLog).toMatchObject({ valid: true, firstBrokenId: null });
    expect(ok.verifyAuditLog.entries).toBeGreaterThan(10);

    // Tamper with one entry in the middle, as someone with database access would.
    const ids = log.auditLog.edges.map((e) => Number(e.node.id)).sort((a, b) => a - b);
    const victim = ids[Math.floor(ids.length / 2)];
    await server.app.db.db.execute(sql`update audit_log set data = '{"forged": true}'::jsonb where id = ${victim}`);
    const broken = await must(server, `{ verifyAuditLog { valid entries firstBrokenId } }`, {}, firm.admin.token);
    expect(broken.verifyAuditLog).toMatchObject({ valid: false, firstBrokenId: String(victim) });
  });
});
