import { describe, expect, it } from 'vitest';
import { dec } from '../../lib/decimal.js';
import { suitabilityWarnings } from './suitability.js';

const portfolio = { totalValue: dec('100000'), holdings: new Map([['TCS', dec('15000')]]) };
const profile = { riskLevel: 'MODERATE' as const, maxPositionWeight: '0.2', excludedSymbols: ['ITC'] };

describe('suitability against the investment profile', () => {
  it('warns when there is no profile at all', () => {
    expect(suitabilityWarnings(null, portfolio, [])[0]).toMatch(/^NO_PROFILE/);
  });

  it('is silent for a buy that keeps the position at exactly the maximum weight', () => {
    expect(suitabilityWarnings(profile, portfolio, [{ symbol: 'TCS', value: dec('5000') }])).toEqual([]);
  });

  it('warns when a buy takes the position one rupee over the maximum weight', () => {
    const w = suitabilityWarnings(profile, portfolio, [{ symbol: 'TCS', value: dec('5001') }]);
    expect(w).toEqual(['POSITION_WEIGHT: TCS would be 20% of the portfolio, above the 20% maximum']);
  });

  it('warns on buying an excluded symbol but not on selling it', () => {
    expect(suitabilityWarnings(profile, portfolio, [{ symbol: 'itc', value: dec('100') }])).toEqual(['EXCLUDED_SYMBOL: ITC is excluded by the investment profile']);
    expect(suitabilityWarnings(profile, portfolio, [{ symbol: 'ITC', value: dec('-100') }])).toEqual([]);
  });

  it('counts new money in the total for a smallcase investment, and compares risk levels', () => {
    const w = suitabilityWarnings(profile, portfolio, [{ symbol: 'INFY', value: dec('30001') }], { newMoney: dec('50000'), productRisk: 'AGGRESSIVE' });
    expect(w).toEqual([
      'POSITION_WEIGHT: INFY would be 20% of the portfolio, above the 20% maximum',
      "RISK_LEVEL: the profile's risk level MODERATE is below the smallcase's AGGRESSIVE",
    ]);
    expect(suitabilityWarnings(profile, portfolio, [], { productRisk: 'MODERATE' })).toEqual([]);
  });

  it('says when a price is missing instead of guessing', () => {
    expect(suitabilityWarnings(profile, portfolio, [{ symbol: 'XYZ', value: null }])[0]).toMatch(/^NO_PRICE/);
  });
});
