import { and, inArray } from 'drizzle-orm';
import type { Db } from '../client.js';
import { instruments } from '../schema/instruments.js';

/** Exchanges the seed list covers. NYSEARCA is NYSE Arca, where most US ETFs list. */
export type SeedExchange = 'NSE' | 'NASDAQ' | 'NYSE' | 'NYSEARCA';

/** One listed instrument for the demo universe. Decimals are strings. */
export interface SeedInstrument {
  symbol: string;
  exchange: SeedExchange;
  name: string;
  currency: 'INR' | 'USD';
  assetClass: 'EQUITY' | 'ETF';
  /** Cash equities trade in single shares. */
  lotSize: string;
  /** NSE: the exchange's price-band tick (see `nseTickSize`); US: one cent. */
  tickSize: string;
  /** A realistic recent price (late 2025), on the tick grid; where the simulated market starts. */
  referencePrice: string;
  /** Annualised volatility as a fraction. */
  volatility: string;
}

type Row = [symbol: string, name: string, referencePrice: string, tickSize: string, volatility: string, assetClass?: 'EQUITY' | 'ETF'];

/*
 * NSE ticks follow NSE's price bands (< ₹250: 0.01, ₹250–1,000: 0.05, ₹1,000–5,000: 0.10, ₹5,000–10,000: 0.50,
 * ₹10,000–20,000: 1.00, > ₹20,000: 5.00; ETFs 0.01). The test checks each tick against `nseTickSize`.
 */
const NSE: Row[] = [
  ['RELIANCE', 'Reliance Industries Ltd', '1545.60', '0.10', '0.22'],
  ['TCS', 'Tata Consultancy Services Ltd', '3215.40', '0.10', '0.21'],
  ['HDFCBANK', 'HDFC Bank Ltd', '992.35', '0.05', '0.18'],
  ['INFY', 'Infosys Ltd', '1612.30', '0.10', '0.24'],
  ['ICICIBANK', 'ICICI Bank Ltd', '1391.80', '0.10', '0.20'],
  ['SBIN', 'State Bank of India', '968.45', '0.05', '0.24'],
  ['BHARTIARTL', 'Bharti Airtel Ltd', '2098.70', '0.10', '0.21'],
  ['ITC', 'ITC Ltd', '404.85', '0.05', '0.19'],
  ['LT', 'Larsen & Toubro Ltd', '4052.90', '0.10', '0.23'],
  ['HINDUNILVR', 'Hindustan Unilever Ltd', '2361.20', '0.10', '0.18'],
  ['KOTAKBANK', 'Kotak Mahindra Bank Ltd', '2141.60', '0.10', '0.21'],
  ['AXISBANK', 'Axis Bank Ltd', '1268.40', '0.10', '0.24'],
  ['BAJFINANCE', 'Bajaj Finance Ltd', '1012.40', '0.10', '0.30'],
  ['MARUTI', 'Maruti Suzuki India Ltd', '16248', '1.00', '0.24'],
  ['SUNPHARMA', 'Sun Pharmaceutical Industries Ltd', '1784.50', '0.10', '0.21'],
  ['TITAN', 'Titan Company Ltd', '3912.60', '0.10', '0.25'],
  ['ASIANPAINT', 'Asian Paints Ltd', '2846.30', '0.10', '0.24'],
  ['WIPRO', 'Wipro Ltd', '262.45', '0.05', '0.25'],
  ['HCLTECH', 'HCL Technologies Ltd', '1648.90', '0.10', '0.24'],
  ['NTPC', 'NTPC Ltd', '331.85', '0.05', '0.24'],
  ['POWERGRID', 'Power Grid Corporation of India Ltd', '268.40', '0.05', '0.23'],
  ['ONGC', 'Oil & Natural Gas Corporation Ltd', '241.37', '0.01', '0.28'],
  ['TATASTEEL', 'Tata Steel Ltd', '171.23', '0.01', '0.30'],
  ['ULTRACEMCO', 'UltraTech Cement Ltd', '11842', '1.00', '0.23'],
  ['NIFTYBEES', 'Nippon India ETF Nifty 50 BeES', '291.46', '0.01', '0.14', 'ETF'],
];

type UsRow = [symbol: string, exchange: 'NASDAQ' | 'NYSE' | 'NYSEARCA', name: string, referencePrice: string, volatility: string, assetClass?: 'EQUITY' | 'ETF'];

const US: UsRow[] = [
  ['AAPL', 'NASDAQ', 'Apple Inc.', '271.49', '0.27'],
  ['MSFT', 'NASDAQ', 'Microsoft Corporation', '483.16', '0.24'],
  ['NVDA', 'NASDAQ', 'NVIDIA Corporation', '184.86', '0.48'],
  ['AMZN', 'NASDAQ', 'Amazon.com, Inc.', '229.53', '0.32'],
  ['GOOGL', 'NASDAQ', 'Alphabet Inc. Class A', '299.65', '0.30'],
  ['META', 'NASDAQ', 'Meta Platforms, Inc.', '648.35', '0.36'],
  ['TSLA', 'NASDAQ', 'Tesla, Inc.', '431.28', '0.58'],
  ['JPM', 'NYSE', 'JPMorgan Chase & Co.', '312.72', '0.23'],
  ['V', 'NYSE', 'Visa Inc. Class A', '338.91', '0.20'],
  ['JNJ', 'NYSE', 'Johnson & Johnson', '204.37', '0.17'],
  ['XOM', 'NYSE', 'Exxon Mobil Corporation', '117.84', '0.22'],
  // Walmart moved its listing from the NYSE to the Nasdaq Global Select Market on 9 December 2025.
  ['WMT', 'NASDAQ', 'Walmart Inc.', '112.46', '0.20'],
  ['KO', 'NYSE', 'The Coca-Cola Company', '70.18', '0.15'],
  ['PEP', 'NASDAQ', 'PepsiCo, Inc.', '147.62', '0.18'],
  ['NFLX', 'NASDAQ', 'Netflix, Inc.', '94.37', '0.35'],
  ['AMD', 'NASDAQ', 'Advanced Micro Devices, Inc.', '214.95', '0.50'],
  ['COST', 'NASDAQ', 'Costco Wholesale Corporation', '893.27', '0.21'],
  ['BRK.B', 'NYSE', 'Berkshire Hathaway Inc. Class B', '502.14', '0.16'],
  ['SPY', 'NYSEARCA', 'SPDR S&P 500 ETF Trust', '681.32', '0.15', 'ETF'],
  ['QQQ', 'NASDAQ', 'Invesco QQQ Trust', '618.47', '0.20', 'ETF'],
  ['GLD', 'NYSEARCA', 'SPDR Gold Shares', '396.84', '0.17', 'ETF'],
  ['VTI', 'NYSEARCA', 'Vanguard Total Stock Market ETF', '334.12', '0.16', 'ETF'],
];

/** The demo universe: 25 NSE instruments in INR and 22 US stocks and ETFs in USD. */
export const SEED_INSTRUMENTS: readonly SeedInstrument[] = Object.freeze([
  ...NSE.map(([symbol, name, referencePrice, tickSize, volatility, assetClass = 'EQUITY']): SeedInstrument => ({
    symbol,
    exchange: 'NSE',
    name,
    currency: 'INR',
    assetClass,
    lotSize: '1',
    tickSize,
    referencePrice,
    volatility,
  })),
  ...US.map(([symbol, exchange, name, referencePrice, volatility, assetClass = 'EQUITY']): SeedInstrument => ({
    symbol,
    exchange,
    name,
    currency: 'USD',
    assetClass,
    lotSize: '1',
    tickSize: '0.01',
    referencePrice,
    volatility,
  })),
]);

export type InstrumentRow = typeof instruments.$inferSelect;

/**
 * Insert the seed instruments; existing (symbol, exchange) pairs are left as they are, so running it twice,
 * or concurrently from two processes, is harmless. Returns the stored rows of every seed instrument.
 */
export async function seedInstruments(db: Db, list: readonly SeedInstrument[] = SEED_INSTRUMENTS): Promise<InstrumentRow[]> {
  if (list.length === 0) return [];
  await db
    .insert(instruments)
    .values(list.map((i) => ({ ...i })))
    .onConflictDoNothing({ target: [instruments.symbol, instruments.exchange] });
  const wanted = new Set(list.map((i) => `${i.exchange}:${i.symbol}`));
  const symbols = [...new Set(list.map((i) => i.symbol))];
  const exchanges = [...new Set(list.map((i) => i.exchange))];
  const rows = await db
    .select()
    .from(instruments)
    .where(and(inArray(instruments.symbol, symbols), inArray(instruments.exchange, exchanges)));
  return rows.filter((r) => wanted.has(`${r.exchange}:${r.symbol}`));
}

/** Look one seed instrument up by symbol and exchange (handy for tests and demo data). */
export function findSeedInstrument(symbol: string, exchange: SeedExchange): SeedInstrument | undefined {
  return SEED_INSTRUMENTS.find((i) => i.symbol === symbol && i.exchange === exchange);
}
