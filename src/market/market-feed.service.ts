import type { Db } from '../db/client.js';
import type { PubSub } from '../events/pubsub.js';
import type { QuoteMessage } from '../events/topics.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { CandleAggregator, type Candle } from './candle-aggregator.js';
import { MarketRepository, type CandleRow, type MarketInstrument } from './market.repository.js';
import { instrumentKey, type Quote, type QuoteSource } from './quote.js';
import { SimulatedFeed } from './simulated-feed.js';
import { bucketStart, DERIVED_INTERVALS } from './intervals.js';

/** The writes the feed service needs; `MarketRepository` provides them. */
export type MarketStore = Pick<MarketRepository, 'upsertCandles' | 'upsertLatestQuotes'>;

export interface MarketFeedServiceDeps {
  feed: SimulatedFeed;
  /** The feed's instruments with their row ids (quotes of other instruments are published but not stored). */
  instruments: readonly MarketInstrument[];
  store: MarketStore;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  /** How often closed candles and latest quotes are written. Default 2000 ms. */
  flushIntervalMs?: number;
}

export interface CreateMarketFeedOptions {
  db: Db;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  seed: number;
  tickMs: number;
  flushIntervalMs?: number;
  /** MARKET_SESSIONS=exchange: instruments quote only while their exchange is in session. */
  isSessionOpen?: (exchange: string, at: Date) => boolean;
  /** MARKET_TICK_SPREAD: each instrument ticks at its own phase of the interval (SimulatedFeedOptions.spreadTicks). */
  spreadTicks?: boolean;
}

/** What one flush wrote. */
export interface FlushResult {
  candles: number;
  quotes: number;
}

/** A quote as it travels on the 'quotes' topic (same fields, copied so the message owns its object). */
export function toQuoteMessage(q: Quote): QuoteMessage {
  return { symbol: q.symbol, exchange: q.exchange, bid: q.bid, ask: q.ask, bidSize: q.bidSize, askSize: q.askSize, last: q.last, volume: q.volume, timestamp: q.timestamp };
}

/**
 * Runs the simulated market for the process that owns it (the embedded process, or the leader worker):
 * every quote is published on 'quotes' under `${exchange}:${symbol}`, folded into one-minute candles, and
 * remembered as the instrument's latest quote. Candles and latest quotes are written in batches every
 * `flushIntervalMs`, not per tick, and once more on `stop()`.
 */
export class MarketFeedService {
  private readonly aggregator = new CandleAggregator();
  private readonly idByKey: Map<string, string>;
  private pendingCandles: CandleRow[] = [];
  private readonly pendingQuotes = new Map<string, Quote>();
  private readonly inflight = new Set<Promise<void>>();
  private flushChain: Promise<unknown> = Promise.resolve();
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribeFeed: () => void;
  private readonly flushIntervalMs: number;

  constructor(private readonly deps: MarketFeedServiceDeps) {
    this.flushIntervalMs = deps.flushIntervalMs ?? 2000;
    this.idByKey = new Map(deps.instruments.map((i) => [instrumentKey(i.exchange, i.symbol), i.id]));
    // The feed's current volumes are the baseline: the first tick's candle volume is that tick's trades only.
    for (const q of deps.feed.quotes()) this.aggregator.prime(q);
    this.unsubscribeFeed = deps.feed.onQuote((q) => this.onQuote(q));
  }

  /**
   * Load the tradable instruments, resume each from its stored latest quote (else its reference price),
   * and build the feed and the service around them.
   */
  static async create(opts: CreateMarketFeedOptions): Promise<MarketFeedService> {
    const repository = new MarketRepository(opts.db);
    const instruments = await repository.loadInstruments();
    const startPrices = new Map((await repository.loadLatestQuotes()).map((q) => [instrumentKey(q.exchange, q.symbol), q.last]));
    const feed = new SimulatedFeed({ instruments, seed: opts.seed, clock: opts.clock, tickMs: opts.tickMs, startPrices, logger: opts.logger, isSessionOpen: opts.isSessionOpen, spreadTicks: opts.spreadTicks });
    return new MarketFeedService({
      feed,
      instruments,
      store: repository,
      pubsub: opts.pubsub,
      clock: opts.clock,
      logger: opts.logger,
      flushIntervalMs: opts.flushIntervalMs,
    });
  }

  /** The feed, for the paper broker and tests (`step`, `setPrice`). */
  get feed(): SimulatedFeed {
    return this.deps.feed;
  }

  /** Quotes of this process, as a port. */
  get quotes(): QuoteSource {
    return this.deps.feed;
  }

  /** Start ticking and the periodic flush. Timers are unref'd. Idempotent. */
  start(): void {
    this.deps.feed.start();
    if (!this.flushTimer) {
      this.flushTimer = setInterval(() => {
        void this.flush().catch(() => undefined);
      }, this.flushIntervalMs);
      this.flushTimer.unref();
    }
    this.deps.logger.info({ instruments: this.idByKey.size }, 'simulated market feed started');
  }

  /** Stop ticking, wait for publishes in flight, and write everything, partial candles included. */
  async stop(): Promise<void> {
    this.deps.feed.stop();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    await Promise.allSettled([...this.inflight]);
    await this.flush({ final: true });
  }

  /** Stop and stop listening to the feed for good. */
  async close(): Promise<void> {
    await this.stop();
    this.unsubscribeFeed();
  }

  /**
   * Write the candles whose minute has closed and the latest quotes gathered since the last flush, one
   * statement each. `final` also writes the candles still open. Flushes never overlap. A failed write is
   * logged and its rows are kept for the next flush.
   */
  flush(opts: { final?: boolean } = {}): Promise<FlushResult> {
    const run = this.flushChain.then(() => this.flushNow(opts.final === true));
    this.flushChain = run.catch(() => undefined);
    return run;
  }

  private async flushNow(final: boolean): Promise<FlushResult> {
    this.enqueueCandles(this.aggregator.closeDue(this.deps.clock.now()));
    if (final) this.enqueueCandles(this.aggregator.flush());
    const candles = this.pendingCandles;
    this.pendingCandles = [];
    const quotes = [...this.pendingQuotes].map(([instrumentId, quote]) => ({ instrumentId, quote }));
    this.pendingQuotes.clear();
    const result: FlushResult = { candles: 0, quotes: 0 };
    try {
      await this.deps.store.upsertCandles(candles);
      // Reported: one-minute bars (the 5m/15m/1h/1d rows derived from them are written alongside).
      result.candles = new Set(candles.filter((c) => c.interval === '1m').map((c) => `${c.instrumentId}|${c.startsAt.getTime()}`)).size;
    } catch (err) {
      // Segments merge on write, so retrying them later (before newer ones) stays correct.
      this.pendingCandles = [...candles, ...this.pendingCandles];
      this.deps.logger.error({ err, candles: candles.length }, 'writing candles failed; will retry');
    }
    try {
      result.quotes = await this.deps.store.upsertLatestQuotes(quotes);
    } catch (err) {
      for (const { instrumentId, quote } of quotes) if (!this.pendingQuotes.has(instrumentId)) this.pendingQuotes.set(instrumentId, quote);
      this.deps.logger.error({ err, quotes: quotes.length }, 'writing latest quotes failed; will retry');
    }
    return result;
  }

  private onQuote(q: Quote): void {
    const key = instrumentKey(q.exchange, q.symbol);
    let published: Promise<void>;
    try {
      published = this.deps.pubsub.publish('quotes', key, toQuoteMessage(q));
    } catch (err) {
      published = Promise.reject(err);
    }
    const p = published.catch((err: unknown) => {
      this.deps.logger.warn({ err, key }, 'publishing a quote failed');
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    const id = this.idByKey.get(key);
    if (id === undefined) return;
    this.enqueueCandles(this.aggregator.add(q));
    this.pendingQuotes.set(id, q);
  }

  private enqueueCandles(closed: Candle[]): void {
    for (const c of closed) {
      const instrumentId = this.idByKey.get(instrumentKey(c.exchange, c.symbol));
      if (instrumentId === undefined) continue;
      this.pendingCandles.push({ ...c, instrumentId });
      // Longer bars are the same segments under a wider bucket: the upsert merges them alike.
      for (const interval of DERIVED_INTERVALS) {
        this.pendingCandles.push({ ...c, instrumentId, interval, startsAt: new Date(bucketStart(c.startsAt.getTime(), interval)) });
      }
    }
  }
}
