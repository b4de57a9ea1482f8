/**
 * instrumentOf: an instrument field answers a cached instrument at once (no promise, no loader batch per
 * list item), falls back to the request's loader otherwise, and keeps NOT_FOUND for an unknown id.
 */
import DataLoader from 'dataloader';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors.js';
import type { InstrumentRow } from '../services/instrument.service.js';
import { instrumentOf } from './loaders.js';

const row = (id: string, symbol: string) => ({ id, symbol, exchange: 'NSE' }) as InstrumentRow;

function context(cache: InstrumentRow[], stored: InstrumentRow[]) {
  const byId = new Map(cache.map((r) => [r.id, r]));
  const loaded: string[][] = [];
  const instrument = new DataLoader<string, InstrumentRow | null>(async (ids) => {
    loaded.push([...ids]);
    return ids.map((id) => stored.find((r) => r.id === id) ?? null);
  });
  return { ctx: { services: { instruments: { cached: (id: string) => byId.get(id) } }, loaders: { instrument } }, loaded };
}

describe('instrumentOf', () => {
  it('answers a cached instrument synchronously, without the loader', () => {
    const a = row('a', 'RELIANCE');
    const { ctx, loaded } = context([a], []);
    const got = instrumentOf(ctx, 'a');
    expect(got).toBe(a);
    expect(got).not.toBeInstanceOf(Promise);
    expect(loaded).toEqual([]);
  });

  it('loads one that is not cached, the misses of one tick in one batch', async () => {
    const b = row('b', 'TCS');
    const c = row('c', 'INFY');
    const { ctx, loaded } = context([], [b, c]);
    const got = [instrumentOf(ctx, 'b'), instrumentOf(ctx, 'c')];
    expect(got[0]).toBeInstanceOf(Promise);
    expect(await Promise.all(got)).toEqual([b, c]);
    expect(loaded).toEqual([['b', 'c']]);
  });

  it('is NOT_FOUND for an id with no instrument', async () => {
    const { ctx } = context([], []);
    await expect(instrumentOf(ctx, 'missing')).rejects.toBeInstanceOf(NotFoundError);
  });
});
