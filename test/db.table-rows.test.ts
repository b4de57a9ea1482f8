/**
 * `tableRows` (src/db/batch-sql.ts): rows of a raw statement mapped back to a table's row type must be
 * what drizzle's own select returns for the same rows, field by field, in both drivers (postgres.js and
 * PGlite return raw numerics and timestamps differently). The order placement's multi-row insert returns
 * its order rows this way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { newUser } from './support/gql.js';
import { createFundedPortfolio, placeOrder } from './support/trading.js';
import { tableRows } from '../src/db/batch-sql.js';
import { orders } from '../src/db/schema/index.js';

describe.each(modes())('tableRows maps raw rows as drizzle does (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('an order placed with a limit price, read raw and through drizzle, is the same row', async () => {
    const user = await newUser(server, 'rows');
    const pid = await createFundedPortfolio(server, user.token);
    // A limit far below the market rests OPEN: nulls (closed_at, average price) and set numerics both appear.
    const placed = await placeOrder(server, user.token, { portfolioId: pid, symbol: 'TCS', exchange: 'NSE', side: 'BUY', type: 'LIMIT', quantity: '3', limitPrice: '1.1' });
    const db = server.app.db.db;
    const [typed] = await db.select().from(orders).where(eq(orders.id, placed.id));
    const rows = tableRows(orders);
    const [raw] = rows.map(await db.execute(sql`select ${rows.list} from orders where id = ${placed.id}::uuid`));
    expect(raw).toEqual(typed);
    expect(raw.quantity).toBe(typed.quantity);
    expect(raw.limitPrice).toBe(typed.limitPrice);
    expect(raw.createdAt).toBeInstanceOf(Date);
    expect(raw.createdAt.getTime()).toBe(typed.createdAt.getTime());
    expect(Object.keys(raw).sort()).toEqual(Object.keys(typed).sort());
  });
});
