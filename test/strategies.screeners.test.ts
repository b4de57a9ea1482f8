import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { adminEmail, registerAdmin } from './support/people.js';
import { gql, must, newUser } from './support/gql.js';

const SYMBOLS = ['RELIANCE', 'TCS', 'INFY', 'HDFCBANK', 'ITC', 'SBIN'];
const CREATE = `mutation($i:CreateScreenerInput!){ createScreener(input:$i){ id outputWatchlist { id } } }`;
const RUN = `mutation($id:ID!){ runScreener(id:$id){ id matches { score values instrument { symbol } } } }`;
const WL = `query($id:ID!){ watchlist(id:$id){ items { instrument { symbol } } } }`;

describe.each(modes())('screeners writing watchlists (%s)', (mode) => {
  let server: TestServer;
  let token: string;
  let adminToken: string; // market data is shared: administrators import it
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MARKET_HISTORY: 'true', MARKET_HISTORY_DAILY_DAYS: '200', MARKET_HISTORY_MINUTE_DAYS: '0', ADMIN_EMAIL: adminEmail() } });
    await server.app.marketHistory();
    token = (await newUser(server)).token;
    adminToken = (await registerAdmin(server)).token;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('TOP_GAINERS keeps the best returns over the period, recomputed from candles, and replaces its watchlist', async () => {
    const s = (await must(server, CREATE, { i: { name: 'gainers', kind: 'TOP_GAINERS', parameters: { period: 5, top: 3 }, universe: { symbols: SYMBOLS } } }, token)).createScreener;
    const run = (await must(server, RUN, { id: s.id }, token)).runScreener;
    expect(run.matches).toHaveLength(3);
    const expected: [string, number][] = [];
    for (const sym of SYMBOLS) {
      const c = (await must(server, `query($s:String!){ candles(symbol:$s, interval:D1, last:6){ close } }`, { s: sym }, token)).candles as { close: string }[];
      expected.push([sym, Number(c[5]!.close) / Number(c[0]!.close) - 1]);
    }
    expected.sort((a, b) => b[1] - a[1]);
    expect(run.matches.map((m: { instrument: { symbol: string } }) => m.instrument.symbol)).toEqual(expected.slice(0, 3).map((e) => e[0]));
    expect(run.matches[0].score).toBeCloseTo(expected[0]![1], 10);
    const wl = (await must(server, WL, { id: s.outputWatchlist.id }, token)).watchlist;
    expect(wl.items.map((i: { instrument: { symbol: string } }) => i.instrument.symbol).sort()).toEqual(expected.slice(0, 3).map((e) => e[0]).sort());
    // A strategy reads the screener as its universe.
    const st = await must(server, `mutation($i:CreateStrategyInput!){ createStrategy(input:$i){ id } }`, { i: { name: 'on gainers', kind: 'SMA_CROSS', interval: 'D1', universe: { screenerId: s.id }, mode: 'SIGNAL_ONLY' } }, token);
    const r = await must(server, `mutation($id:ID!){ runStrategyNow(id:$id){ evaluated status } }`, { id: st.createStrategy.id }, token);
    expect(r.runStrategyNow).toEqual({ evaluated: 3, status: 'COMPLETED' });
  });

  it('STD_FILTER scores by z and keeps those at least minZ; RULES keeps those where the rule holds', async () => {
    const s = (await must(server, CREATE, { i: { name: 'std', kind: 'STD_FILTER', parameters: { period: 5, lookback: 60, minZ: -100, top: 4 }, universe: { symbols: SYMBOLS } } }, token)).createScreener;
    const run = (await must(server, RUN, { id: s.id }, token)).runScreener;
    expect(run.matches).toHaveLength(4);
    const zs = run.matches.map((m: { score: number }) => m.score);
    expect([...zs].sort((a: number, b: number) => b - a)).toEqual(zs);
    for (const m of run.matches) expect(m.values.z).toBeCloseTo(m.values.return / (m.values.std * Math.sqrt(5)), 10);
    const none = (await must(server, CREATE, { i: { name: 'strict', kind: 'STD_FILTER', parameters: { minZ: 1000 }, universe: { symbols: SYMBOLS } } }, token)).createScreener;
    expect((await must(server, RUN, { id: none.id }, token)).runScreener.matches).toHaveLength(0);
    const rules = (await must(server, CREATE, { i: { name: 'rules', kind: 'RULES', rule: 'close > 0', universe: { symbols: SYMBOLS } } }, token)).createScreener;
    expect((await must(server, RUN, { id: rules.id }, token)).runScreener.matches).toHaveLength(SYMBOLS.length);
  });

  it('EARNINGS classifies by past surprises from an imported calendar', async () => {
    const csv = [
      'symbol,exchange,date,epsEstimate,epsActual',
      'INFY,NSE,2025-01-15,10,11', 'INFY,NSE,2025-04-15,10,12', 'INFY,NSE,2025-07-15,10,10.5', 'INFY,NSE,2025-10-15,10,11',
      'TCS,NSE,2025-01-15,10,9', 'TCS,NSE,2025-04-15,10,11', 'TCS,NSE,2025-07-15,10,9', 'TCS,NSE,2025-10-15,10,9',
      'NOPE,NSE,2025-10-15,1,1',
      'INFY,NSE,not-a-date,1,1',
    ].join('\n');
    const imp = (await must(server, `mutation($c:String!){ importEarnings(csv:$c){ imported skipped errors { line message } } }`, { c: csv }, adminToken)).importEarnings;
    expect(imp.imported).toBe(8);
    expect(imp.errors.map((e: { line: number }) => e.line)).toEqual([10, 11]);
    const s = (await must(server, CREATE, { i: { name: 'beats', kind: 'EARNINGS', parameters: { quarters: 4, minBeats: 4 }, universe: { symbols: ['INFY', 'TCS'] } } }, token)).createScreener;
    const run = (await must(server, RUN, { id: s.id }, token)).runScreener;
    expect(run.matches.map((m: { instrument: { symbol: string } }) => m.instrument.symbol)).toEqual(['INFY']);
    expect(run.matches[0].values.classification).toBe('CONSISTENT_BEATER');
    expect(run.matches[0].score).toBeCloseTo((0.1 + 0.2 + 0.05 + 0.1) / 4, 10);
  });

  it('refuses bad screeners with field and reason', async () => {
    for (const [patch, field, reason] of [
      [{ kind: 'RULES', rule: 'close >' }, 'rule', 'PARSE_ERROR'],
      [{ kind: 'TOP_GAINERS', parameters: { period: 0 } }, 'parameters.period', 'INVALID_PERIOD'],
      [{ kind: 'TOP_GAINERS', universe: { symbols: [] } }, 'universe.symbols', 'EMPTY_UNIVERSE'],
      [{ kind: 'TOP_GAINERS', schedule: '* * * * * *' }, 'schedule', 'TOO_FREQUENT'],
    ] as const) {
      const r = await gql(server, CREATE, { i: { name: 'bad', universe: { symbols: SYMBOLS }, ...patch } }, token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(patch)).toMatchObject({ code: 'BAD_USER_INPUT', field, reason });
    }
  });
});
