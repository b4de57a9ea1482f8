/**
 * Who sees what of a pooled account: members share parent orders, not each other's orders. A member
 * reading their own order's parent sees only their own children (the other members' orders, fills and
 * portfolio ids never come back); the advisor of one member sees that member's; an admin sees them all.
 * Bad names are refused with a stable reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { gql, must, newUser } from './support/gql.js';
import { placeOrder, waitForQuote, waitForStatus } from './support/trading.js';
import { adminEmail, assign, registerAdmin, setRole, type Person } from './support/people.js';

describe.each(modes())('a pooled parent’s children, as each viewer may see them (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    await waitForQuote(server, 'RELIANCE');
    admin = await registerAdmin(server);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  const CHILDREN = `query($id:ID!){ order(id:$id){ parentOrder { id children { id quantity status clientOrderId fills { price fee } portfolio { id } } } } }`;

  it('a member sees only their own children; the advisor their client’s; an admin every member’s', async () => {
    const accountId = (
      await must<{ createPooledAccount: { id: string } }>(
        server,
        `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper", windowMs:86400000){ id } }`,
        { n: `access-${mode}-${Date.now()}` },
        admin.token,
      )
    ).createPooledAccount.id;
    const members = [];
    for (let i = 0; i < 3; i++) {
      const person = await newUser(server, 'pooled-access');
      const p = await must<{ createPortfolio: { id: string } }>(server, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
      await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000"){ id } }`, { p: p.createPortfolio.id }, person.token);
      const order = await placeOrder(server, person.token, { portfolioId: p.createPortfolio.id, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: String(2 + i) });
      members.push({ person, portfolioId: p.createPortfolio.id, order });
    }
    const advisor = await newUser(server, 'pooled-advisor');
    await setRole(server, admin, advisor.id, 'ADVISOR');
    await assign(server, admin, members[1].person.id, advisor.id);
    await must(server, `mutation($id:ID!){ closePooledWindow(id:$id){ id } }`, { id: accountId }, admin.token);
    for (const m of members) await waitForStatus(server, m.person.token, m.order.id, ['FILLED']);

    type Kids = { order: { parentOrder: { id: string; children: { id: string; portfolio: { id: string } }[] } } };
    // Each member, through their own order: their own child only, and no error naming anyone else's objects.
    for (const m of members) {
      const r = await gql<Kids>(server, CHILDREN, { id: m.order.id }, m.person.token);
      expect(r.errors ?? []).toEqual([]);
      expect(r.data!.order.parentOrder.children.map((c) => c.id)).toEqual([m.order.id]);
      expect(r.data!.order.parentOrder.children.map((c) => c.portfolio.id)).toEqual([m.portfolioId]);
      const others = members.filter((o) => o !== m).flatMap((o) => [o.order.id, o.portfolioId]);
      for (const id of others) expect(JSON.stringify(r)).not.toContain(id);
    }
    // The advisor of member 1 reads that client's order and sees that client's child only.
    const adv = await gql<Kids>(server, CHILDREN, { id: members[1].order.id }, advisor.token);
    expect(adv.errors ?? []).toEqual([]);
    expect(adv.data!.order.parentOrder.children.map((c) => c.id)).toEqual([members[1].order.id]);
    // An admin oversees the pool: every child.
    const all = await must<Kids>(server, CHILDREN, { id: members[0].order.id }, admin.token);
    expect(all.order.parentOrder.children.map((c) => c.id).sort()).toEqual(members.map((m) => m.order.id).sort());
  }, 60_000);

  it('an empty or over-long name is BAD_USER_INPUT with reason INVALID_NAME, for the account and a member portfolio', async () => {
    for (const n of ['', '   ', 'x'.repeat(101)]) {
      const r = await gql(server, `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper"){ id } }`, { n }, admin.token);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name', reason: 'INVALID_NAME' });
    }
    const accountId = (
      await must<{ createPooledAccount: { id: string } }>(server, `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper"){ id } }`, { n: `names-${mode}-${Date.now()}` }, admin.token)
    ).createPooledAccount.id;
    const person = await newUser(server, 'pooled-name');
    const r = await gql(server, `mutation($a:ID){ createPortfolio(name:"", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name', reason: 'INVALID_NAME' });
    // The pool's account trades for its members: another broker or a connection of one's own is refused, not ignored.
    const other = await gql(server, `mutation($a:ID){ createPortfolio(name:"z", broker:"zerodha", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    expect(other.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'broker', reason: 'BROKER_MISMATCH' });
    const conn = await gql(server, `mutation($a:ID){ createPortfolio(name:"c", brokerConnectionId:"00000000-0000-4000-8000-000000000000", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    expect(conn.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'brokerConnectionId', reason: 'POOLED_MEMBER' });
    const same = await must<{ createPortfolio: { broker: string } }>(server, `mutation($a:ID){ createPortfolio(name:"p", broker:"PAPER", pooledAccountId:$a){ broker } }`, { a: accountId }, person.token);
    expect(same.createPortfolio.broker).toBe('paper');
    const mine = await must<{ portfolios: { name: string }[] }>(server, `{ portfolios { name } }`, {}, person.token);
    expect(mine.portfolios.map((p) => p.name).sort()).toEqual(['p']);
  }, 30_000);
});
