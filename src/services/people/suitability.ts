import { dec, type Decimal } from '../../lib/decimal.js';
import type { RiskLevel } from './profile.service.js';

/** What suitability is checked against. */
export interface SuitabilityProfile {
  riskLevel: RiskLevel;
  maxPositionWeight: string | null;
  excludedSymbols: string[];
}

/** A trade as the check sees it: a signed value change in one symbol (buy positive, sell negative). */
export interface TradeEffect {
  symbol: string;
  /** Value bought (+) or sold (−) at the estimated price; null when no price is known. */
  value: Decimal | null;
}

export interface PortfolioSnapshot {
  /** Cash plus positions at market. */
  totalValue: Decimal;
  /** Current market value per symbol. */
  holdings: Map<string, Decimal>;
}

const RISK_ORDER: RiskLevel[] = ['CONSERVATIVE', 'MODERATE', 'BALANCED', 'GROWTH', 'AGGRESSIVE'];

const pct = (d: Decimal) => `${d.mul(100).toDecimalPlaces(1).toFixed()}%`;

/**
 * Suitability warnings of a proposal against the portfolio's investment profile (pure). Each warning
 * starts with a stable code: NO_PROFILE, EXCLUDED_SYMBOL, POSITION_WEIGHT, RISK_LEVEL, NO_PRICE.
 * Weights are of the portfolio's total value plus any new money the proposal invests.
 */
export function suitabilityWarnings(
  profile: SuitabilityProfile | null,
  portfolio: PortfolioSnapshot,
  trades: TradeEffect[],
  opts: { newMoney?: Decimal; productRisk?: RiskLevel | null } = {},
): string[] {
  if (!profile) return ['NO_PROFILE: the portfolio has no investment profile to check against'];
  const warnings: string[] = [];
  const excluded = new Set(profile.excludedSymbols.map((s) => s.toUpperCase()));
  const total = portfolio.totalValue.add(opts.newMoney ?? 0);
  const after = new Map(portfolio.holdings);
  for (const t of trades) {
    const symbol = t.symbol.toUpperCase();
    if (excluded.has(symbol) && (t.value === null || t.value.gt(0))) warnings.push(`EXCLUDED_SYMBOL: ${symbol} is excluded by the investment profile`);
    if (t.value === null) {
      warnings.push(`NO_PRICE: no price for ${symbol}, its weight could not be checked`);
      continue;
    }
    after.set(symbol, (after.get(symbol) ?? dec(0)).add(t.value));
  }
  if (profile.maxPositionWeight && total.gt(0)) {
    const max = dec(profile.maxPositionWeight);
    for (const t of trades) {
      const symbol = t.symbol.toUpperCase();
      const v = after.get(symbol);
      if (!v || t.value === null || t.value.lte(0)) continue;
      const w = v.div(total);
      if (w.gt(max)) warnings.push(`POSITION_WEIGHT: ${symbol} would be ${pct(w)} of the portfolio, above the ${pct(max)} maximum`);
    }
  }
  if (opts.productRisk && RISK_ORDER.indexOf(profile.riskLevel) < RISK_ORDER.indexOf(opts.productRisk)) {
    warnings.push(`RISK_LEVEL: the profile's risk level ${profile.riskLevel} is below the smallcase's ${opts.productRisk}`);
  }
  return [...new Set(warnings)];
}
