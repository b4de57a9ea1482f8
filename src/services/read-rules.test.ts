/**
 * The figures the read resolvers show, computed by the services (not in the resolvers): a portfolio's
 * market and total value, a watchlist item's day change, a proposed trade's estimate. Exact decimals.
 */
import { describe, expect, it } from 'vitest';
import { dec } from '../lib/decimal.js';
import { positionsValue, totalValue } from './portfolio.service.js';
import { dayChange } from './watchlists/watchlist.service.js';
import { estimateLine } from './people/proposal.service.js';

describe('positionsValue and totalValue', () => {
  it('sum the market values exactly; a position with no quote counts as zero', () => {
    const list = [{ marketValue: '0.1' }, { marketValue: '0.2' }, { marketValue: null }, { marketValue: '1234567890123.45678901' }];
    expect(positionsValue(list).toFixed()).toBe('1234567890123.75678901');
    expect(totalValue(dec('100.05'), list).toFixed()).toBe('1234567890223.80678901');
  });

  it('are zero and the cash for no positions', () => {
    expect(positionsValue([]).toFixed()).toBe('0');
    expect(totalValue(dec('42.5'), []).toFixed()).toBe('42.5');
  });
});

describe('dayChange', () => {
  it('is the last price against the open, and its percent of the open', () => {
    expect(dayChange('105.5', dec('100'))).toEqual({ dayChange: '5.5', dayChangePercent: 5.5 });
    expect(dayChange('99.99', dec('100'))).toEqual({ dayChange: '-0.01', dayChangePercent: -0.01 });
  });

  it('is null without a quote or an open, and has no percent for an open of zero', () => {
    expect(dayChange(null, dec('100'))).toEqual({ dayChange: null, dayChangePercent: null });
    expect(dayChange(undefined, dec('100'))).toEqual({ dayChange: null, dayChangePercent: null });
    expect(dayChange('10', undefined)).toEqual({ dayChange: null, dayChangePercent: null });
    expect(dayChange('10', dec(0))).toEqual({ dayChange: '10', dayChangePercent: null });
  });
});

describe('estimateLine', () => {
  it('prices a limit line at its limit, whatever the market', () => {
    expect(estimateLine({ limitPrice: '250.05', quantity: '3' }, '260')).toEqual({ estimatedPrice: '250.05', estimatedValue: '750.15' });
  });

  it('prices a market line at the last price, and at zero before any quote', () => {
    expect(estimateLine({ limitPrice: null, quantity: '7' }, '0.1')).toEqual({ estimatedPrice: '0.1', estimatedValue: '0.7' });
    expect(estimateLine({ quantity: '7' }, null)).toEqual({ estimatedPrice: '0', estimatedValue: '0' });
  });
});
