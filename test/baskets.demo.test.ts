import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { must, newUser } from './support/gql.js';

describe('the embedded demo seeds three public smallcases (embedded)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded', env: { SEED_DEMO: 'true' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('two on NSE in INR and one of US stocks in USD, visible to a new user, weights summing to 1, index at 100', async () => {
    const u = await newUser(server);
    const d = await must<{ smallcases: { name: string; currency: string; visibility: string; version: number; indexValue: string; constituents: { weight: string; instrument: { exchange: string } }[] }[] }>(
      server,
      `{ smallcases { name currency visibility version indexValue constituents { weight instrument { exchange } } } }`,
      {},
      u.token,
    );
    expect(d.smallcases).toHaveLength(3);
    expect(d.smallcases.map((s) => s.currency).sort()).toEqual(['INR', 'INR', 'USD']);
    for (const s of d.smallcases) {
      expect(s.visibility).toBe('PUBLIC');
      expect(s.version).toBe(1);
      const sum = s.constituents.reduce((a, c) => a + Math.round(Number(c.weight) * 1e8), 0);
      expect(sum, s.name).toBe(1e8);
      expect(Number(s.indexValue)).toBeGreaterThan(50);
      expect(Number(s.indexValue)).toBeLessThan(200);
    }
    const us = d.smallcases.find((s) => s.currency === 'USD')!;
    expect(us.constituents.every((c) => ['NASDAQ', 'NYSE'].includes(c.instrument.exchange))).toBe(true);
  });
});
