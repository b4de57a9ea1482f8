import { afterAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { gql } from './support/gql.js';

/**
 * A first start writes the simulated market's history in the background. Embedded, PGlite runs those
 * inserts on the API's one thread: the server must start serving first, and keep answering between
 * them (it once answered nothing until all half-million bars of a default start were written).
 */
describe('embedded first start: the API answers while the market history is written', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('serves GraphQL and readiness before the history is done, each request within a statement or two', async () => {
    // About 94,000 bars: seconds of PGlite work, far longer than a request.
    server = await startTestServer({ env: { MARKET_HISTORY: 'true', MARKET_HISTORY_DAILY_DAYS: '730', MARKET_HISTORY_MINUTE_DAYS: '5' } });
    let historyDone = false;
    const history = server.app.marketHistory().then((r) => {
      historyDone = true;
      return r;
    });
    // Requests answered while the history was still being written (not after it), and how long each took.
    const during: number[] = [];
    for (let i = 0; i < 5 && !historyDone; i++) {
      const t0 = performance.now();
      const res = await gql(server, '{ __typename }');
      expect(res.errors).toBeUndefined();
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      if (!historyDone) during.push(performance.now() - t0);
    }
    expect(during.length).toBeGreaterThan(0);
    expect(Math.max(...during)).toBeLessThan(2_000);
    const written = await history;
    expect(written?.bars).toBeGreaterThan(90_000);
  }, 120_000);
});
