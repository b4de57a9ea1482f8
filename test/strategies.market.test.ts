import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RSI, SMA } from 'technicalindicators';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { adminEmail, registerAdmin } from './support/people.js';
import { errorCode, gql, must, newUser, waitFor } from './support/gql.js';

const CANDLES = `query($s:String!,$i:CandleInterval!,$l:Int,$f:DateTime,$t:DateTime){ candles(symbol:$s, interval:$i, last:$l, from:$f, to:$t){ time open high low close volume } }`;
const INDICATOR = `query($s:String!,$i:CandleInterval!,$e:String!,$l:Int){ indicator(symbol:$s, interval:$i, expression:$e, last:$l){ time value } }`;

describe.each(modes())('market history, candles, indicators and imports over GraphQL (%s)', (mode) => {
  let server: TestServer;
  let token: string;
  let adminToken: string; // market data is shared: administrators import it
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MARKET_HISTORY: 'true', MARKET_HISTORY_DAILY_DAYS: '400', MARKET_HISTORY_MINUTE_DAYS: '3', ADMIN_EMAIL: adminEmail() } });
    await server.app.marketHistory();
    token = (await newUser(server)).token;
    adminToken = (await registerAdmin(server)).token;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('has deterministic daily history ending before today at the reference price, and 5m bars that aggregate the 1m bars', async () => {
    const d = await must(server, CANDLES, { s: 'RELIANCE', i: 'D1', l: 300 }, token);
    const daily = d.candles as { time: string; open: string; high: string; low: string; close: string }[];
    expect(daily.length).toBeGreaterThanOrEqual(250);
    const lastHistorical = daily.filter((c) => new Date(c.time).getTime() < Math.floor(Date.now() / 86_400_000) * 86_400_000).at(-1)!;
    expect(lastHistorical.close).toBe('1545.60');
    for (const c of daily) expect(Number(c.low) <= Math.min(Number(c.open), Number(c.close)) && Number(c.high) >= Math.max(Number(c.open), Number(c.close))).toBe(true);
    const m5 = (await must(server, CANDLES, { s: 'TCS', i: 'M5', l: 3 }, token)).candles as { time: string; open: string; close: string; volume: string }[];
    const bucket = m5[0]!;
    const to = new Date(new Date(bucket.time).getTime() + 4 * 60_000).toISOString();
    const m1 = (await must(server, CANDLES, { s: 'TCS', i: 'M1', f: bucket.time, t: to }, token)).candles as { open: string; close: string; volume: string }[];
    expect(m1).toHaveLength(5);
    expect(bucket.open).toBe(m1[0]!.open);
    expect(bucket.close).toBe(m1[4]!.close);
    expect(Number(bucket.volume)).toBe(m1.reduce((s, c) => s + Number(c.volume), 0));
  });

  it('serves indicator series that match an independent implementation on the same candles', async () => {
    const candles = (await must(server, CANDLES, { s: 'INFY', i: 'D1', l: 250 }, token)).candles as { close: string }[];
    const closes = candles.map((c) => Number(c.close));
    const sma = (await must(server, INDICATOR, { s: 'INFY', i: 'D1', e: 'sma(close, 20)', l: 250 }, token)).indicator as { value: number | null }[];
    const lib = SMA.calculate({ period: 20, values: closes });
    // The series is warmed with bars before the range, so even its first point has a value.
    expect(sma).toHaveLength(250);
    sma.slice(19).forEach((p, i) => expect(p.value!).toBeCloseTo(lib[i]!, 6));
    const rsi = (await must(server, INDICATOR, { s: 'INFY', i: 'D1', e: 'rsi(close, 14)', l: 250 }, token)).indicator as { value: number | null }[];
    const libRsi = RSI.calculate({ period: 14, values: closes });
    // Ours has more warm-up before the range; far from its start the two agree to the library's 2 places.
    expect(rsi.at(-1)!.value!).toBeCloseTo(libRsi.at(-1)!, 1);
    // Warmed to its long-run value: a one-point window gives the last point of a long one. Wilder's
    // smoothing (rsi, atr) keeps 1/period of its seed: ten periods of warm-up left 1e-4 of it.
    for (const e of ['rsi(close, 14)', 'atr(14)', 'macdHist(close, 12, 26, 9)']) {
      const one = (await must(server, INDICATOR, { s: 'INFY', i: 'D1', e, l: 1 }, token)).indicator as { value: number }[];
      const long = (await must(server, INDICATOR, { s: 'INFY', i: 'D1', e, l: 300 }, token)).indicator as { value: number }[];
      expect(one[0]!.value, e).toBeCloseTo(long.at(-1)!.value, 8);
    }
    const cond = (await must(server, INDICATOR, { s: 'INFY', i: 'D1', e: 'close > sma(close, 20)', l: 5 }, token)).indicator as { value: number }[];
    expect(cond.every((p) => p.value === 0 || p.value === 1)).toBe(true);
  });

  it('anchors vwap to the UTC day in an indicator window, a backtest and a screener that start mid-day', async () => {
    type C = { time: string; high: string; low: string; close: string; volume: string };
    const DAY = 86_400_000;
    const RANGE = `query($s:String!,$i:CandleInterval!,$e:String!,$f:DateTime,$t:DateTime){ indicator(symbol:$s, interval:$i, expression:$e, from:$f, to:$t){ time value } }`;
    // The last day of minute bars up to `to`, from its first bar, and the day-anchored VWAP (and close) at each bar.
    const dayOf = async (s: string, to?: string) => {
      const all = (await must(server, CANDLES, { s, i: 'M1', l: 2000, t: to }, token)).candles as C[];
      const day = Math.floor(new Date(all.at(-1)!.time).getTime() / DAY);
      const bars = all.filter((c) => Math.floor(new Date(c.time).getTime() / DAY) === day);
      let pv = 0;
      let v = 0;
      const vwap = bars.map((c) => {
        pv += ((Number(c.high) + Number(c.low) + Number(c.close)) / 3) * Number(c.volume);
        v += Number(c.volume);
        return pv / v;
      });
      return { bars, vwap, close: bars.map((c) => Number(c.close)) };
    };
    // Generated history ends yesterday (today's bars come from live ticks and keep changing).
    const yesterday = new Date(Math.floor(Date.now() / DAY) * DAY - 1).toISOString();
    const { bars, vwap, close } = await dayOf('RELIANCE', yesterday);
    expect(bars.length).toBeGreaterThan(100);
    const mid = Math.floor(bars.length / 2);
    const midTime = new Date(bars[mid]!.time);
    const next = new Date(midTime.getTime() + 60_000).toISOString();
    const w = (await must(server, RANGE, { s: 'RELIANCE', i: 'M1', e: 'vwap()', f: bars[mid]!.time, t: next }, token)).indicator as { value: number }[];
    expect(w).toHaveLength(2);
    expect(w[0]!.value).toBeCloseTo(vwap[mid]!, 8);
    expect(w[1]!.value).toBeCloseTo(vwap[mid + 1]!, 8);

    // A LONG backtest on vwap crosses from mid-day enters and exits where the day-anchored crosses are.
    const expected: string[] = [];
    let long = false;
    for (let i = mid; i < bars.length; i++) {
      const up = close[i - 1]! <= vwap[i - 1]! && close[i]! > vwap[i]!;
      const down = close[i - 1]! >= vwap[i - 1]! && close[i]! < vwap[i]!;
      if (!long && up) (long = true), expected.push(bars[i]!.time);
      else if (long && down) long = false;
    }
    const bt = await must(
      server,
      `mutation($i:BacktestInput!){ runBacktest(input:$i){ id } }`,
      {
        i: {
          definition: { name: 'vw', kind: 'RULES', rules: { entry: 'crossesAbove(close, vwap())', exit: 'crossesBelow(close, vwap())', side: 'LONG' }, interval: 'M1', universe: { symbols: ['RELIANCE'] }, mode: 'SIGNAL_ONLY', sizing: { quantity: '1' } },
          from: bars[mid]!.time,
          to: bars.at(-1)!.time,
          initialCash: '100000',
        },
      },
      token,
    );
    let done: { status: string; trades: { edges: { node: { entryTime: string } }[] } } | undefined;
    await waitFor('backtest to end', async () => {
      done = (await must(server, `query($id:ID!){ backtest(id:$id){ status trades(first:100){ edges { node { entryTime } } } } }`, { id: bt.runBacktest.id }, token)).backtest;
      return ['COMPLETED', 'FAILED', 'CANCELED'].includes(done!.status);
    }, 30_000);
    expect(done!.status).toBe('COMPLETED');
    expect(done!.trades.edges.map((e) => new Date(e.node.entryTime).toISOString())).toEqual(expected.map((t) => new Date(t).toISOString()));

    // A RULES screener on the last minute bar compares its close with the whole day's VWAP (retried if a
    // live tick moved the latest bar while it ran).
    const symbols = ['RELIANCE', 'TCS', 'INFY', 'HDFCBANK', 'ICICIBANK', 'SBIN', 'ITC', 'LT', 'WIPRO', 'NTPC'];
    const holding = async () => {
      const out: string[] = [];
      for (const s of symbols) {
        const d = await dayOf(s);
        if (d.close.at(-1)! > d.vwap.at(-1)!) out.push(s);
      }
      return out.sort().join(',');
    };
    const sc = (await must(server, `mutation($i:CreateScreenerInput!){ createScreener(input:$i){ id } }`, { i: { name: 'vw', kind: 'RULES', rule: 'close > vwap()', interval: 'M1', universe: { symbols } } }, token)).createScreener;
    let before = '';
    let got = '';
    let after = ' ';
    for (let attempt = 0; attempt < 5 && before !== after; attempt++) {
      before = await holding();
      const run = (await must(server, `mutation($id:ID!){ runScreener(id:$id){ matches { instrument { symbol } } } }`, { id: sc.id }, token)).runScreener;
      got = run.matches.map((m: { instrument: { symbol: string } }) => m.instrument.symbol).sort().join(',');
      after = await holding();
    }
    expect(got).toBe(after);
  });

  it('imports CSV bars with per-line errors, and replaces a bar on re-import', async () => {
    const csv = ['time,open,high,low,close,volume', '2020-01-01T00:00:00Z,10,11,9,10.5,100', '1577923200,10.5,12,10,11.5,200', 'garbage', '2020-01-03T00:00:00Z,10,9,9,10,1', '2020-01-04T00:00:00Z,11.5,13,11,12.5,300'].join('\n');
    const r = await must(server, `mutation($c:String!){ importCandles(symbol:"WIPRO", interval:D1, csv:$c){ imported skipped errors { line message } } }`, { c: csv }, adminToken);
    expect(r.importCandles.imported).toBe(3);
    expect(r.importCandles.errors.map((e: { line: number }) => e.line)).toEqual([4, 5]);
    const again = await must(server, `mutation($c:String!){ importCandles(symbol:"WIPRO", interval:D1, csv:$c){ imported } }`, { c: 'time,open,high,low,close,volume\n2020-01-02T00:00:00Z,10.5,12,10,11.75,250' }, adminToken);
    expect(again.importCandles.imported).toBe(1);
    const got = (await must(server, CANDLES, { s: 'WIPRO', i: 'D1', f: '2020-01-01T00:00:00Z', t: '2020-01-05T00:00:00Z' }, token)).candles as { close: string; volume: string }[];
    expect(got.map((c) => c.close)).toEqual(['10.50', '11.75', '12.50']);
    expect(got[1]!.volume).toBe('250.00');
    const bad = await gql(server, `mutation{ importCandles(symbol:"WIPRO", interval:D1, csv:"nope"){ imported errors { line message } } }`, {}, adminToken);
    expect(bad.data!.importCandles.errors[0].line).toBe(1);
  });

  it('refuses imported bars that start in the future, as line errors, and keeps the latest bar a past one', async () => {
    const tomorrow = new Date((Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000).toISOString();
    const csv = ['time,open,high,low,close,volume', '2021-03-01T00:00:00Z,10,12,9,11,100', `${tomorrow},10,12,9,11,100`, '2030-01-21T00:00:00Z,10,12,9,11,100'].join('\n');
    const r = await must(server, `mutation($c:String!){ importCandles(symbol:"WIPRO", interval:D1, csv:$c){ imported skipped errors { line message } } }`, { c: csv }, adminToken);
    expect(r.importCandles).toMatchObject({ imported: 1, skipped: 2 });
    expect(r.importCandles.errors).toEqual([
      { line: 3, message: `time ${tomorrow} is in the future` },
      { line: 4, message: 'time 2030-01-21T00:00:00.000Z is in the future' },
    ]);
    const last = (await must(server, CANDLES, { s: 'WIPRO', i: 'D1', l: 1 }, token)).candles as { time: string }[];
    expect(new Date(last[0]!.time).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('takes from == to as the one bar that starts then (both ends inclusive), and refuses from after to', async () => {
    const bar = ((await must(server, CANDLES, { s: 'RELIANCE', i: 'D1', l: 3 }, token)).candles as { time: string; close: string }[])[0]!;
    const one = (await must(server, CANDLES, { s: 'RELIANCE', i: 'D1', f: bar.time, t: bar.time }, token)).candles;
    expect(one).toMatchObject([{ time: bar.time, close: bar.close }]);
    const ind = (await must(server, `query($f:DateTime,$t:DateTime){ indicator(symbol:"RELIANCE", interval:D1, expression:"close", from:$f, to:$t){ time value } }`, { f: bar.time, t: bar.time }, token)).indicator;
    expect(ind).toEqual([{ time: bar.time, value: Number(bar.close) }]);
    const reversed = await gql(server, CANDLES, { s: 'RELIANCE', i: 'D1', f: bar.time, t: new Date(new Date(bar.time).getTime() - 1).toISOString() }, token);
    expect(errorCode(reversed)).toBe('BAD_USER_INPUT');
    expect(reversed.errors![0]!.extensions!.reason).toBe('INVALID_RANGE');
  });

  it('validates rules with line and column, and refuses bad indicator expressions with field and reason', async () => {
    const ok = await must(server, `{ validateRule(expression:"rsi(close,14) < 30 and not (close < sma(close,200))"){ valid normalized } }`, {}, token);
    expect(ok.validateRule.valid).toBe(true);
    const bad = await must(server, `query($e:String!){ validateRule(expression:$e){ valid message line column reason } }`, { e: 'close > 1\n and foo(close)' }, token);
    expect(bad.validateRule).toMatchObject({ valid: false, line: 2, column: 6, reason: 'UNKNOWN_INDICATOR' });
    for (const [e, reason] of [
      ['sma(close)', 'WRONG_ARITY'],
      ['sma(close, 0)', 'INVALID_PERIOD'],
      ['sma(close, 99999)', 'PERIOD_TOO_LARGE'],
      ['nosuch(close, 3)', 'UNKNOWN_INDICATOR'],
    ]) {
      const r = await gql(server, INDICATOR, { s: 'INFY', i: 'D1', e, l: 5 }, token);
      expect(errorCode(r)).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.extensions).toMatchObject({ field: 'expression', reason });
    }
    const unknownInterval = await gql(server, INDICATOR, { s: 'INFY', i: 'M2', e: 'close', l: 5 }, token);
    expect(errorCode(unknownInterval)).toBe('BAD_USER_INPUT');
  });
});
