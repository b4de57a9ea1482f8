import type { PubSub, Unsubscribe } from '../events/pubsub.js';
import type { QuoteMessage } from '../events/topics.js';
import type { Logger } from '../lib/logger.js';
import { instrumentKey, type Quote, type QuoteSource } from './quote.js';

/** Where the cache reads its starting snapshot; `MarketRepository` provides it. */
export interface LatestQuoteSnapshot {
  loadLatestQuotes(): Promise<Quote[]>;
}

export interface QuoteCacheOptions {
  /** Read once at start, so `get` answers before the next tick arrives. */
  snapshot?: LatestQuoteSnapshot;
  logger?: Logger;
}

/**
 * The latest quote per instrument for processes that do not run the market feed (api replicas, non-leader
 * workers): subscribes to 'quotes' for each instrument and keeps the newest quote, by timestamp, so a
 * message delivered late never replaces a newer one. Seeded from the stored latest quotes at start.
 */
export class QuoteCache implements QuoteSource {
  private readonly latest = new Map<string, Quote>();
  private readonly listeners = new Set<(q: Quote) => void>();
  private readonly subscriptions = new Map<string, Unsubscribe>();
  private pubsub: PubSub | null = null;

  constructor(private readonly opts: QuoteCacheOptions = {}) {}

  /**
   * Subscribe to every instrument's quotes, then load the snapshot. Subscribing first means no quote
   * published during start is lost; the timestamp check keeps the snapshot from overwriting a live quote.
   */
  async start(pubsub: PubSub, instruments: readonly { symbol: string; exchange: string }[]): Promise<void> {
    if (this.pubsub) throw new Error('QuoteCache already started');
    this.pubsub = pubsub;
    await Promise.all(instruments.map((i) => this.track(i)));
    if (this.opts.snapshot) {
      const snapshot = await this.opts.snapshot.loadLatestQuotes();
      for (const q of snapshot) if (this.subscriptions.has(instrumentKey(q.exchange, q.symbol))) this.accept(q);
    }
  }

  /** Follow one more instrument (for instruments added while running). Idempotent. */
  async track(instrument: { symbol: string; exchange: string }): Promise<void> {
    if (!this.pubsub) throw new Error('QuoteCache not started');
    const key = instrumentKey(instrument.exchange, instrument.symbol);
    if (this.subscriptions.has(key)) return;
    // Reserve the key before awaiting, so concurrent calls subscribe once.
    this.subscriptions.set(key, async () => undefined);
    try {
      const unsubscribe = await this.pubsub.subscribe('quotes', key, (m) => this.accept(fromMessage(m)));
      this.subscriptions.set(key, unsubscribe);
    } catch (err) {
      this.subscriptions.delete(key);
      throw err;
    }
  }

  /** Unsubscribe from everything. Cached quotes stay readable. */
  async stop(): Promise<void> {
    const subs = [...this.subscriptions.values()];
    this.subscriptions.clear();
    this.pubsub = null;
    await Promise.allSettled(subs.map((u) => u()));
  }

  get(symbol: string, exchange: string): Quote | null {
    return this.latest.get(instrumentKey(exchange, symbol)) ?? null;
  }

  onQuote(listener: (q: Quote) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Instruments with a cached quote. */
  get size(): number {
    return this.latest.size;
  }

  private accept(q: Quote): void {
    const key = instrumentKey(q.exchange, q.symbol);
    const current = this.latest.get(key);
    if (current && Date.parse(current.timestamp) > Date.parse(q.timestamp)) return;
    this.latest.set(key, q);
    for (const listener of [...this.listeners]) {
      try {
        listener(q);
      } catch (err) {
        this.opts.logger?.warn({ err, key }, 'quote listener threw');
      }
    }
  }
}

function fromMessage(m: QuoteMessage): Quote {
  return { symbol: m.symbol, exchange: m.exchange, bid: m.bid, ask: m.ask, bidSize: m.bidSize, askSize: m.askSize, last: m.last, volume: m.volume, timestamp: m.timestamp };
}
