import { eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { users } from '../schema/index.js';
import type { Services } from '../../services/index.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../lib/logger.js';

/**
 * Three public sample smallcases owned by the demo user: two on NSE, one of US stocks. Weights are exact
 * decimals summing to 1.
 */
const SAMPLE_SMALLCASES = [
  {
    name: 'India Large Cap Leaders',
    description: 'Five Nifty heavyweights across energy, banking and IT, equal-weighted.',
    constituents: [
      ['RELIANCE', '0.2'],
      ['HDFCBANK', '0.2'],
      ['TCS', '0.2'],
      ['INFY', '0.2'],
      ['ICICIBANK', '0.2'],
    ],
  },
  {
    name: 'India Consumption & Infra',
    description: 'Consumer staples, autos and the build-out of power and infrastructure.',
    constituents: [
      ['HINDUNILVR', '0.2'],
      ['ITC', '0.15'],
      ['MARUTI', '0.15'],
      ['TITAN', '0.1'],
      ['LT', '0.2'],
      ['NTPC', '0.1'],
      ['POWERGRID', '0.1'],
    ],
  },
  {
    name: 'US Tech Giants',
    description: 'The largest US technology platforms, weighted towards the biggest.',
    constituents: [
      ['AAPL', '0.25'],
      ['MSFT', '0.25'],
      ['NVDA', '0.2'],
      ['GOOGL', '0.15'],
      ['AMZN', '0.15'],
    ],
  },
] as const;

/**
 * First-start demo data for the embedded mode: a demo user with an INR and a USD paper portfolio
 * funded through the ledger, and three public sample smallcases. Idempotent: does nothing if the demo user exists.
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

  for (const sc of SAMPLE_SMALLCASES) {
    await services.baskets.smallcases.create(principal, {
      name: sc.name,
      description: sc.description,
      visibility: 'PUBLIC',
      constituents: sc.constituents.map(([symbol, weight]) => ({ symbol, weight })),
    });
  }
  deps.logger.info({ email: config.demo.email }, 'demo data seeded');
}
