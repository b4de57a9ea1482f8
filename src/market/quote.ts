/** Market data as the rest of the product sees it. Decimals are strings. */
export interface Quote {
  symbol: string;
  exchange: string;
  bid: string | null;
  ask: string | null;
  /** Size displayed at the best bid / ask, in shares. Market orders fill up to it, then partially. */
  bidSize: string | null;
  askSize: string | null;
  last: string;
  /** Volume traded today. */
  volume: string | null;
  timestamp: string;
}

export interface QuoteSource {
  /** The latest quote, or null if the instrument has none yet. */
  get(symbol: string, exchange: string): Quote | null;
  /** Called on every new quote. Returns an unsubscribe function. */
  onQuote(listener: (q: Quote) => void): () => void;
}

/** The key an instrument is known by across the market code and on the 'quotes' topic: `${exchange}:${symbol}`. */
export function instrumentKey(exchange: string, symbol: string): string {
  return `${exchange}:${symbol}`;
}
