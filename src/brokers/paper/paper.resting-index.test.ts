import { describe, expect, it } from 'vitest';
import { RestingIndex } from './paper.resting-index.js';

describe('RestingIndex: which instruments a matching pass can skip', () => {
  it('counts every instrument as possibly resting until the first scan has completed', () => {
    const idx = new RestingIndex();
    expect(idx.mayRest('NSE:ITC')).toBe(true);
    idx.foundEmpty('NSE:ITC', idx.token('NSE:ITC'));
    expect(idx.mayRest('NSE:ITC')).toBe(true);
    idx.refreshed([]);
    expect(idx.mayRest('NSE:ITC')).toBe(false);
  });

  it('knows an order placed by this process at once, and what a scan found', () => {
    const idx = new RestingIndex();
    idx.refreshed(['NSE:WIPRO']);
    idx.add('NSE:ITC');
    expect(idx.mayRest('NSE:ITC')).toBe(true);
    expect(idx.mayRest('NSE:WIPRO')).toBe(true);
    expect(idx.mayRest('NSE:ONGC')).toBe(false);
  });

  it('forgets an instrument whose pass found its book empty', () => {
    const idx = new RestingIndex();
    idx.refreshed(['NSE:ITC']);
    idx.foundEmpty('NSE:ITC', idx.token('NSE:ITC'));
    expect(idx.mayRest('NSE:ITC')).toBe(false);
    expect(idx.size).toBe(0);
  });

  it('keeps an instrument when an order was placed on it while the empty pass was reading', () => {
    const idx = new RestingIndex();
    idx.refreshed(['NSE:ITC']);
    const token = idx.token('NSE:ITC'); // the pass reads the book…
    idx.add('NSE:ITC'); // …while a placement commits on the same instrument
    idx.foundEmpty('NSE:ITC', token); // the pass's snapshot was taken before that commit
    expect(idx.mayRest('NSE:ITC')).toBe(true);
  });

  it('keeps an instrument a scan reported while the empty pass was reading', () => {
    const idx = new RestingIndex();
    idx.refreshed(['NSE:ITC']);
    const token = idx.token('NSE:ITC');
    idx.refreshed(['NSE:ITC']);
    idx.foundEmpty('NSE:ITC', token);
    expect(idx.mayRest('NSE:ITC')).toBe(true);
  });

  it('knows nothing again after a reset (matching stopped), until the next scan', () => {
    const idx = new RestingIndex();
    idx.refreshed(['NSE:ITC']);
    idx.reset();
    expect(idx.mayRest('NSE:ONGC')).toBe(true);
    idx.refreshed([]);
    expect(idx.mayRest('NSE:ITC')).toBe(false);
  });
});
