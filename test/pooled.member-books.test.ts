/**
 * A pooled member's books move only through the pool: an import of activities into a member portfolio
 * is refused (the pool's broker account never bought what it would add, and selling it through the pool
 * would leave the broker account short), and a window crossed internally at a price finer than the
 * paisa (the quote mid half a tick between bid and ask) moves every member's cash by whole paise, buyers
 * paying in total exactly what sellers receive, so all of it can be withdrawn.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { gql, must, newUser } from './support/gql.js';
import { assertLedgerInvariants, placeOrder, portfolioState, waitForQuote, waitForStatus } from './support/trading.js';
import { adminEmail, registerAdmin, type Person } from './support/people.js';
import { importedActivities, ledgerEntries, positions } from '../src/db/schema/index.js';
import { Decimal } from '../src/lib/decimal.js';
import type { Quote } from '../src/market/quote.js';

type Member = { person: Person; portfolioId: string };

describe.each(modes())('a pooled member’s books move only through the pool (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;
  let accountId: string;

  const member = async (): Promise<Member> => {
    const person = await newUser(server, 'pbooks');
    const p = await must<{ createPortfolio: { id: string } }>(server, `mutation($a:ID){ createPortfolio(name:"pooled", pooledAccountId:$a){ id } }`, { a: accountId }, person.token);
    await must(server, `mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000"){ id } }`, { p: p.createPortfolio.id }, person.token);
    return { person, portfolioId: p.createPortfolio.id };
  };
  const close = async () => (await must<{ closePooledWindow: { id: string; quantity: string; crossedQuantity: string }[] }>(server, `mutation($id:ID!){ closePooledWindow(id:$id){ id quantity crossedQuantity } }`, { id: accountId }, admin.token)).closePooledWindow;
  const order = (m: Member, side: 'BUY' | 'SELL', quantity: string) => placeOrder(server, m.person.token, { portfolioId: m.portfolioId, symbol: 'ITC', side, type: 'MARKET', quantity });

  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    await waitForQuote(server, 'ITC');
    admin = await registerAdmin(server);
    accountId = (
      await must<{ createPooledAccount: { id: string } }>(server, `mutation($n:String!){ createPooledAccount(name:$n, broker:"paper", windowMs:86400000){ id } }`, { n: `books-${mode}-${Date.now()}` }, admin.token)
    ).createPooledAccount.id;
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await server?.close();
  });

  it('importActivities into a member portfolio is refused with POOLED_MEMBER and writes nothing', async () => {
    const m = await member();
    const before = await portfolioState(server, m.person.token, m.portfolioId);
    const r = await gql(
      server,
      `mutation($p:ID!,$a:[ActivityInput!]!){ importActivities(portfolioId:$p, activities:$a){ imported } }`,
      {
        p: m.portfolioId,
        a: [
          { date: '2025-01-02T00:00:00Z', type: 'DEPOSIT', amount: '100000' },
          { date: '2025-01-02T00:00:00Z', type: 'BUY', symbol: 'ITC', exchange: 'NSE', quantity: '50', price: '400', fee: '0' },
        ],
      },
      m.person.token,
    );
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'portfolioId', reason: 'POOLED_MEMBER' });
    expect(r.data?.importActivities ?? null).toBeNull();
    const db = server.app.db.db;
    expect(await db.select().from(positions).where(eq(positions.portfolioId, m.portfolioId))).toEqual([]);
    expect(await db.select().from(importedActivities).where(eq(importedActivities.portfolioId, m.portfolioId))).toEqual([]);
    expect((await db.select().from(ledgerEntries).where(eq(ledgerEntries.portfolioId, m.portfolioId))).map((l) => l.kind)).toEqual(['DEPOSIT']);
    expect(await portfolioState(server, m.person.token, m.portfolioId)).toEqual(before);
  });
});
