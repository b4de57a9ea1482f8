import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { instruments, smallcaseConstituents, smallcases, users } from '../schema/index.js';
import type { Services } from '../../services/index.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../lib/logger.js';

/** A sample public smallcase of Indian large caps, equal-weighted. */
const SAMPLE_SMALLCASE = {
  name: 'India Large Cap Leaders',
  description: 'Five Nifty heavyweights, equal-weighted. A sample basket to invest in and rebalance.',
  symbols: ['RELIANCE', 'HDFCBANK', 'TCS', 'INFY', 'ICICIBANK'],
};

/**
 * First-start demo data for the embedded mode: a demo user with an INR and a USD paper portfolio
 * funded through the ledger, and a sample smallcase. Idempotent: does nothing if the demo user exists.
 */
export async function seedDemo(deps: { db: Db; services: Services; config: Config; logger: Logger }): Promise<void> {
  const { db, services, config } = deps;
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(sql`lower(${users.email})`, config.demo.email.toLowerCase()));
  if (existing) return;
  const { user } = await services.auth.register({ email: config.demo.email, password: config.demo.password, name: 'Demo Investor' });
  const principal = { userId: user.id, role: user.role };
  const inr = await services.portfolios.create(principal, { name: 'Demo INR', baseCurrency: 'INR' });
  await services.portfolios.deposit(principal, inr.id, '1000000.00');
  const usd = await services.portfolios.create(principal, { name: 'Demo USD', baseCurrency: 'USD' });
  await services.portfolios.deposit(principal, usd.id, '100000.00');

  const rows = await db
    .select({ id: instruments.id, symbol: instruments.symbol })
    .from(instruments)
    .where(eq(instruments.exchange, 'NSE'));
  const members = rows.filter((r) => SAMPLE_SMALLCASE.symbols.includes(r.symbol));
  if (members.length === SAMPLE_SMALLCASE.symbols.length) {
    const [sc] = await db
      .insert(smallcases)
      .values({ ownerId: null, name: SAMPLE_SMALLCASE.name, description: SAMPLE_SMALLCASE.description, isPublic: true })
      .returning();
    // 0.2 each: weights are exact decimals that sum to 1.
    await db.insert(smallcaseConstituents).values(members.map((m) => ({ smallcaseId: sc.id, instrumentId: m.id, weight: '0.2' })));
  }
  deps.logger.info({ email: config.demo.email }, 'demo data seeded');
}
