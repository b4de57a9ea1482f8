import { describe, expect, it } from 'vitest';
import { buildValuations, valuationDays } from './valuation.js';
import { findOversell, parseActivities, cashLines, ActivityInputError } from './activities.js';
import { resolveWindow } from './range.js';
import { ValuationJob } from './valuation.job.js';
import { dec } from '../../lib/decimal.js';
import { BadInputError } from '../../errors.js';

describe('valuationDays', () => {
  it('takes weekdays and adds activity days inside the span', () => {
    // 2024-01-05 is a Friday, 06/07 the weekend
    expect(valuationDays('2024-01-05', '2024-01-08', ['2024-01-06', '2023-12-31'])).toEqual(['2024-01-05', '2024-01-06', '2024-01-08']);
  });
});

describe('buildValuations: a buy carried over a day without a close', () => {
  const rows = buildValuations({
    days: ['2024-01-01', '2024-01-02', '2024-01-03'],
    cash: [
      { day: '2024-01-01', amount: '1000', external: true },
      { day: '2024-01-01', amount: '-500', external: false },
      { day: '2024-01-03', amount: '-100', external: true },
    ],
    trades: [{ day: '2024-01-01', instrumentId: 'X', quantity: '5', price: '100' }],
    closes: [
      { instrumentId: 'X', day: '2023-12-29', close: '90' },
      { instrumentId: 'X', day: '2024-01-01', close: '101' },
      { instrumentId: 'X', day: '2024-01-03', close: '110.5' },
    ],
  });

  it('values cash plus positions at the close of each day, exactly', () => {
    expect(rows.map((r) => r.value.toFixed())).toEqual(['1005', '1005', '952.5']);
    expect(rows.map((r) => r.cash.toFixed())).toEqual(['500', '500', '400']);
  });
  it('records deposits and withdrawals as the day\u2019s flow, trades not', () => {
    expect(rows.map((r) => r.netFlow.toFixed())).toEqual(['1000', '0', '-100']);
  });
  it('carries the last close over a day without one and counts it', () => {
    expect(rows.map((r) => r.carriedPrices)).toEqual([0, 1, 0]);
  });
  it('falls back to the last trade price when no close is known at all', () => {
    const r = buildValuations({ days: ['2024-01-01'], cash: [], trades: [{ day: '2024-01-01', instrumentId: 'Y', quantity: '2', price: '7.25' }], closes: [] });
    expect(r[0]!.value.toFixed()).toBe('14.5');
    expect(r[0]!.missingPrices).toBe(1);
  });
  it('treats events before the first day as the opening state, not as a flow of that day', () => {
    const r = buildValuations({ days: ['2024-01-02'], cash: [{ day: '2024-01-01', amount: '50', external: true }], trades: [], closes: [] });
    expect(r[0]!.value.toFixed()).toBe('50');
    expect(r[0]!.netFlow.toFixed()).toBe('0');
  });
});

describe('activities', () => {
  const now = new Date('2024-06-01T12:00:00Z');
  it('fingerprints identical lines of one import apart, and the same list the same way twice', () => {
    const line = { date: new Date('2024-01-01T00:00:00Z'), type: 'DEPOSIT', amount: '100' };
    const a = parseActivities([line, line], now);
    const b = parseActivities([line, line], now);
    expect(a[0]!.fingerprint).not.toBe(a[1]!.fingerprint);
    expect(a.map((x) => x.fingerprint)).toEqual(b.map((x) => x.fingerprint));
  });
  it('posts a buy as quantity × price plus a separate fee line', () => {
    const [a] = parseActivities([{ date: new Date('2024-01-01'), type: 'BUY', symbol: 'x', quantity: '3', price: '10.5', fee: '1.25' }], now);
    expect(cashLines(a!).map((l) => [l.kind, l.amount.toFixed()])).toEqual([
      ['TRADE', '-31.5'],
      ['FEE', '-1.25'],
    ]);
  });
  it('refuses a zero quantity, a negative fee and a date after today with the line', () => {
    const bad = (x: Record<string, unknown>) => {
      try {
        parseActivities([{ date: new Date('2024-01-01'), type: 'DEPOSIT', amount: '1' }, x as never], now);
      } catch (e) {
        return e instanceof ActivityInputError ? e.details : e;
      }
      return null;
    };
    expect(bad({ date: new Date('2024-01-01'), type: 'SELL', symbol: 'X', quantity: '0', price: '1' })).toEqual({ field: 'quantity', reason: 'INVALID_QUANTITY', line: 2 });
    expect(bad({ date: new Date('2024-01-01'), type: 'DEPOSIT', amount: '1', fee: '-1' })).toEqual({ field: 'fee', reason: 'INVALID_FEE', line: 2 });
    expect(bad({ date: new Date('2024-06-02T00:00:00Z'), type: 'DEPOSIT', amount: '1' })).toEqual({ field: 'date', reason: 'IN_FUTURE', line: 2 });
  });
  it('blames the new sell that takes a holding below zero at its date, even when a later existing sell is hit', () => {
    const t = (d: string) => new Date(`${d}T00:00:00Z`);
    const existing = [
      { instrumentId: 'X', at: t('2024-01-01'), quantity: dec(10) },
      { instrumentId: 'X', at: t('2024-03-01'), quantity: dec(-8) },
    ];
    expect(findOversell(existing, [{ instrumentId: 'X', at: t('2024-02-01'), quantity: dec(-2), line: 4 }])).toBeNull();
    expect(findOversell(existing, [{ instrumentId: 'X', at: t('2024-02-01'), quantity: dec(-3), line: 4 }])).toMatchObject({ line: 4 });
    expect(findOversell([], [{ instrumentId: 'X', at: t('2024-02-01'), quantity: dec(-1), line: 1 }])).toMatchObject({ line: 1, held: dec(0) });
  });
});

describe('resolveWindow', () => {
  const now = new Date('2024-03-15T12:00:00Z');
  it('maps presets to their first day', () => {
    expect(resolveWindow({ range: 'D1' }, now)).toMatchObject({ from: '2024-03-15', to: '2024-03-15' });
    expect(resolveWindow({ range: 'W1' }, now).from).toBe('2024-03-09');
    expect(resolveWindow({ range: 'MTD' }, now).from).toBe('2024-03-01');
    expect(resolveWindow({ range: 'YTD' }, now).from).toBe('2024-01-01');
    expect(resolveWindow({ range: 'Y1' }, now).from).toBe('2023-03-17');
    expect(resolveWindow({}, now)).toMatchObject({ from: null, to: '2024-03-15' });
  });
  it('refuses reversed and future dates', () => {
    expect(() => resolveWindow({ from: new Date('2024-03-10'), to: new Date('2024-03-01') }, now)).toThrow(BadInputError);
    expect(() => resolveWindow({ to: new Date('2024-03-16T00:00:00Z') }, now)).toThrow(/future/);
  });
});

describe('ValuationJob.nextRun', () => {
  it('fires at the next close time on a weekday, skipping the weekend', () => {
    const times = ['10:05', '21:05'];
    expect(ValuationJob.nextRun(new Date('2024-01-05T09:00:00Z'), times)).toEqual(new Date('2024-01-05T10:05:00Z'));
    expect(ValuationJob.nextRun(new Date('2024-01-05T10:05:00Z'), times)).toEqual(new Date('2024-01-05T21:05:00Z'));
    // Friday night → Monday morning
    expect(ValuationJob.nextRun(new Date('2024-01-05T22:00:00Z'), times)).toEqual(new Date('2024-01-08T10:05:00Z'));
    expect(ValuationJob.nextRun(new Date('2024-01-05T22:00:00Z'), [])).toBeNull();
  });
});

describe('smallcase index and investment events', () => {
  it('chains versions from their index base and carries closes', async () => {
    const { smallcaseIndex } = await import('./investment.js');
    const idx = smallcaseIndex(
      ['2024-01-01', '2024-01-02', '2024-01-03'],
      [
        { version: 1, indexBase: '100', from: '2024-01-01', constituents: [{ instrumentId: 'A', weight: '0.5', basePrice: '10' }, { instrumentId: 'B', weight: '0.5', basePrice: '20' }] },
        { version: 2, indexBase: '110', from: '2024-01-03', constituents: [{ instrumentId: 'A', weight: '1', basePrice: '12' }] },
      ],
      [
        { instrumentId: 'A', day: '2024-01-01', close: '10' },
        { instrumentId: 'B', day: '2024-01-01', close: '20' },
        { instrumentId: 'A', day: '2024-01-02', close: '12' },
        { instrumentId: 'A', day: '2024-01-03', close: '13.2' },
      ],
    );
    // day 2: B carried at 20 → 100 × (0.5 × 1.2 + 0.5 × 1) = 110; day 3: version 2 → 110 × 13.2 / 12 = 121
    expect(idx.map((x) => x.value?.toFixed())).toEqual(['100', '110', '121']);
  });
  it('turns fills into flows in and out with no cash left behind', async () => {
    const { investmentEvents } = await import('./investment.js');
    const { cash, trades } = investmentEvents([
      { at: new Date('2024-01-01T10:00:00Z'), instrumentId: 'A', side: 'BUY', quantity: '10', price: '5', fee: '1' },
      { at: new Date('2024-01-02T10:00:00Z'), instrumentId: 'A', side: 'SELL', quantity: '4', price: '6', fee: '0.5' },
    ]);
    expect(cash.filter((c) => c.external).map((c) => dec(c.amount).toFixed())).toEqual(['51', '-23.5']);
    expect(cash.reduce((s, c) => s.add(c.amount), dec(0)).toFixed()).toBe('0');
    expect(trades.map((t) => dec(t.quantity).toFixed())).toEqual(['10', '-4']);
  });
});
