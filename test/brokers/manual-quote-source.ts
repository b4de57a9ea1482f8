import type { Quote, QuoteSource } from '../../src/market/quote.js';

/**
 * A QuoteSource a test drives by hand: `set` replaces an instrument's quote and tells every listener.
 * Timestamps strictly increase, as a real feed's do, so each `set` is a new quote to the matcher.
 */
export class ManualQuoteSource implements QuoteSource {
  private readonly quotes = new Map<string, Quote>();
  private readonly listeners = new Set<(q: Quote) => void>();
  private lastMs = 0;

  get(symbol: string, exchange: string): Quote | null {
    return this.quotes.get(`${exchange}:${symbol}`) ?? null;
  }

  onQuote(listener: (q: Quote) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Set a quote: fields not given are null (sizes: unknown, i.e. unlimited) and `last` defaults to mid. */
  set(symbol: string, exchange: string, q: { bid: string | null; ask: string | null; last?: string; bidSize?: string | null; askSize?: string | null }): Quote {
    this.lastMs = Math.max(Date.now(), this.lastMs + 1);
    const quote: Quote = {
      symbol,
      exchange,
      bid: q.bid,
      ask: q.ask,
      bidSize: q.bidSize ?? null,
      askSize: q.askSize ?? null,
      last: q.last ?? q.bid ?? q.ask ?? '0',
      volume: null,
      timestamp: new Date(this.lastMs).toISOString(),
    };
    this.quotes.set(`${exchange}:${symbol}`, quote);
    for (const l of this.listeners) l(quote);
    return quote;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
