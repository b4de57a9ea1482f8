import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer } from './support/server.js';
import { must } from './support/gql.js';

/**
 * The embedded default keeps its data in PGlite files under DATA_DIR, with its secrets beside them:
 * a restart finds the same users, portfolios, cash and tokens. First start seeds the demo data once.
 */
describe('embedded mode across a restart', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tradegraph-data-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // No JWT_SECRET / ENCRYPTION_KEY: the embedded mode generates them into DATA_DIR and keeps them.
  const env = { DATA_DIR: dir, SEED_DEMO: 'true', JWT_SECRET: '', ENCRYPTION_KEY: '' };

  it('seeds the demo user once and keeps data and tokens across a restart', async () => {
    const first = await startTestServer({ env });
    let token: string;
    let portfolios: { name: string; cash: string }[];
    try {
      const login = await must<{ login: { accessToken: string } }>(first, `mutation { login(email:"demo@tradegraph.dev", password:"demo-password-123"){ accessToken } }`);
      token = login.login.accessToken;
      portfolios = (await must<{ portfolios: { name: string; cash: string }[] }>(first, `{ portfolios { name cash baseCurrency } }`, {}, token)).portfolios;
      expect(portfolios).toEqual([
        expect.objectContaining({ name: 'Demo INR', cash: '1000000.00', baseCurrency: 'INR' }),
        expect.objectContaining({ name: 'Demo USD', cash: '100000.00', baseCurrency: 'USD' }),
      ]);
      const inr = (await must<{ portfolios: { id: string }[] }>(first, `{ portfolios { id } }`, {}, token)).portfolios[0].id;
      await must(first, `mutation($p:ID!){ withdraw(portfolioId:$p, amount:"0.50"){ id } }`, { p: inr }, token);
    } finally {
      await first.close();
    }

    const second = await startTestServer({ env });
    try {
      // The access token issued before the restart still verifies: the secret was kept in DATA_DIR.
      const { portfolios: after } = await must<{ portfolios: { name: string; cash: string }[] }>(second, `{ portfolios { name cash } }`, {}, token);
      expect(after.map((p) => p.name)).toEqual(['Demo INR', 'Demo USD']); // seeded once, not twice
      expect(after[0].cash).toBe('999999.50');
    } finally {
      await second.close();
    }
  });
});
