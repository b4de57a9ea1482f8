import type { Clock } from '../lib/clock.js';
import { Decimal, dec, fmt, roundToStep, Rounding } from '../lib/decimal.js';
import type { Logger } from '../lib/logger.js';
import { deriveSeed, Prng } from './prng.js';
import { instrumentKey, type Quote, type QuoteSource } from './quote.js';

/** What the simulated market needs to know about an instrument. Decimals are strings. */
export interface FeedInstrument {
  symbol: string;
  exchange: string;
  tickSize: string;
  lotSize: string;
  /** Where the walk starts unless `startPrices` names a price. */
  referencePrice: string;
  /** Annualised volatility as a fraction (0.25 = 25%). */
  volatility: string;
}

export interface SimulatedFeedOptions {
  instruments: readonly FeedInstrument[];
  /** Same seed, same instruments, same clock readings → the same quotes, byte for byte. */
  seed: number;
  clock: Clock;
  /** Milliseconds between ticks; also the time step the volatility is scaled to. */
  tickMs: number;
  /** Resume from last known prices, keyed by `instrumentKey(exchange, symbol)`. */
  startPrices?: ReadonlyMap<string, string>;
  /** Where a throwing listener is reported; the feed carries on either way. */
  logger?: Logger;
  /**
   * Whether an exchange is in session (MARKET_SESSIONS=exchange): outside it its instruments neither move
   * nor quote. Default: always open (the market trades around the clock).
   */
  isSessionOpen?: (exchange: string, at: Date) => boolean;
  /**
   * Spread the instruments' ticks over each interval (default false here; the app passes MARKET_TICK_SPREAD,
   * which defaults to true): every instrument
   * still ticks once per `tickMs`, but instrument i in slot `i mod slots` at its own phase, as a real
   * exchange feed's symbols do, instead of every instrument in the same millisecond. `step()` still
   * advances all of them at once.
   */
  spreadTicks?: boolean;
}

/**
 * The shortest gap between two slots of a spread tick interval: at most tickMs / 50 slots per interval.
 * Each slot costs a timer wake-up, a publish and, in every api, a message of its own, whatever it
 * carries: with one slot per instrument (10 ms apart at 500 ms ticks) an idle worker, api and Redis spent
 * 263 ms of CPU a second, against 96 ms with every instrument in one slot. Twenty slots a second keep
 * the burst an api drains per slot to a few instruments' subscribers.
 */
export const MIN_SLOT_MS = 50;

/** Seconds in a trading year (252 sessions of 6.5 hours): volatility is quoted per trading year. */
export const TRADING_YEAR_SECONDS = 252 * 6.5 * 3600;

/** Displayed size range, in shares, and the round lot sizes are multiples of. */
interface SizeProfile {
  min: number;
  max: number;
  roundLot: number;
}

/** NSE large caps show from tens to a few thousand shares; US books show round lots of 100. */
function sizeProfileFor(exchange: string): SizeProfile {
  return exchange === 'NSE' || exchange === 'BSE' ? { min: 50, max: 2000, roundLot: 1 } : { min: 100, max: 1000, roundLot: 100 };
}

interface WalkState {
  readonly instrument: FeedInstrument;
  readonly key: string;
  readonly tick: Decimal;
  readonly volatility: number;
  /** σ·√dt for one tick. */
  readonly sigmaStep: number;
  /** Displayed and traded sizes are multiples of this (a lot multiple). */
  readonly sizeUnit: number;
  readonly profile: SizeProfile;
  readonly rng: Prng;
  /** The unrounded fair value the walk moves; emitted prices are it rounded onto the tick grid. */
  fair: Decimal;
  volume: Decimal;
  /** UTC date (YYYY-MM-DD) the volume counter belongs to. */
  volumeDay: string;
  quote: Quote;
}

/**
 * A simulated exchange feed: one geometric random walk per instrument, driven by a seeded generator, with a
 * bid/ask of a few ticks that widens with volatility, displayed sizes in lot multiples and cumulative daily
 * volume (reset at the UTC date change, which falls outside both NSE and US sessions).
 *
 * Invariants of every quote: prices are positive multiples of the tick size, `bid < ask`, `bid ≤ last ≤ ask`,
 * sizes are positive lot multiples.
 */
export class SimulatedFeed implements QuoteSource {
  private readonly states = new Map<string, WalkState>();
  private readonly listeners = new Set<(q: Quote) => void>();
  private readonly clock: Clock;
  private readonly tickMs: number;
  private readonly logger?: Logger;
  private readonly isSessionOpen?: (exchange: string, at: Date) => boolean;
  private timer: NodeJS.Timeout | null = null;
  private readonly spreadTicks: boolean;
  /** Bumped by stop(): a spread schedule of an earlier start() ends at its next slot. */
  private run = 0;

  constructor(opts: SimulatedFeedOptions) {
    if (!(opts.tickMs > 0)) throw new RangeError(`tickMs must be positive, got ${opts.tickMs}`);
    this.clock = opts.clock;
    this.tickMs = opts.tickMs;
    this.logger = opts.logger;
    this.isSessionOpen = opts.isSessionOpen;
    this.spreadTicks = opts.spreadTicks ?? false;
    const dtYears = opts.tickMs / 1000 / TRADING_YEAR_SECONDS;
    const now = this.clock.now();
    for (const instrument of opts.instruments) {
      const key = instrumentKey(instrument.exchange, instrument.symbol);
      if (this.states.has(key)) throw new Error(`duplicate instrument ${key}`);
      const tick = dec(instrument.tickSize);
      const lot = dec(instrument.lotSize);
      if (!tick.gt(0) || !lot.gt(0)) throw new RangeError(`${key}: tick and lot sizes must be positive`);
      const volatility = dec(instrument.volatility).toNumber();
      const profile = sizeProfileFor(instrument.exchange);
      const lotN = lot.toNumber();
      const start = opts.startPrices?.get(key);
      const startPrice = start !== undefined && isPositiveDecimal(start) ? start : instrument.referencePrice;
      const base: Omit<WalkState, 'quote'> = {
        instrument,
        key,
        tick,
        volatility,
        sigmaStep: volatility * Math.sqrt(dtYears),
        sizeUnit: lotN * Math.max(1, Math.ceil(profile.roundLot / lotN)),
        profile,
        rng: new Prng(deriveSeed(opts.seed, key)),
        fair: onGrid(dec(startPrice), tick),
        volume: new Decimal(0),
        volumeDay: utcDay(now),
      };
      const state: WalkState = { ...base, quote: this.buildQuote(base, now) };
      this.states.set(key, state);
    }
  }

  /**
   * Tick every `tickMs` until `stop()`: all instruments at once, or (spreadTicks) slot by slot, each
   * instrument once per interval at its slot's phase. The timers are unref'd: they never keep the process
   * alive.
   */
  start(): void {
    if (this.timer) return;
    const slots = this.slotCount();
    if (slots <= 1) {
      this.timer = setInterval(() => this.step(), this.tickMs);
      this.timer.unref();
      return;
    }
    const groups = this.slotGroups(slots);
    const slotMs = this.tickMs / slots;
    // Slot k of the run is due at origin + (k + 1) · slotMs (monotonic time, so the rate does not drift).
    // A timer that fires late advances every slot already due in that one turn (a busy process catches
    // up instead of losing ticks, at worst back to one burst per interval); after a stall of more than an
    // interval the schedule restarts from now, as setInterval would.
    let origin = performance.now();
    let k = 0;
    const run = this.run;
    const fire = (): void => {
      let now = performance.now();
      if (now - (origin + (k + 1) * slotMs) > this.tickMs) origin = now - (k + 1) * slotMs;
      for (let n = 0; n < slots && origin + (k + 1) * slotMs <= now + 0.5; n++) {
        this.advance(groups[k % slots]);
        if (this.run !== run) return; // a listener stopped the feed
        k++;
        now = performance.now();
      }
      this.timer = setTimeout(fire, Math.max(0, origin + (k + 1) * slotMs - performance.now()));
      this.timer.unref();
    };
    this.timer = setTimeout(fire, slotMs);
    this.timer.unref();
  }

  /** Slots per interval when spreading: one per instrument, at most tickMs / MIN_SLOT_MS. */
  slotCount(): number {
    if (!this.spreadTicks) return 1;
    return Math.max(1, Math.min(this.states.size, Math.floor(this.tickMs / MIN_SLOT_MS)));
  }

  /** The instruments of each slot: instrument i (in the order given) in slot i mod slots. */
  private slotGroups(slots: number): WalkState[][] {
    const groups: WalkState[][] = Array.from({ length: slots }, () => []);
    let i = 0;
    for (const s of this.states.values()) groups[i++ % slots].push(s);
    return groups;
  }

  stop(): void {
    this.run++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Advance every instrument one tick, synchronously, then notify listeners. Returns the new quotes. */
  step(): Quote[] {
    return this.advance(this.states.values());
  }

  /** Advance these instruments one tick (each its own walk: the order does not change any quote), then notify. */
  private advance(states: Iterable<WalkState>): Quote[] {
    const now = this.clock.now();
    const day = utcDay(now);
    const out: Quote[] = [];
    for (const s of states) {
      if (this.isSessionOpen && !this.isSessionOpen(s.instrument.exchange, now)) continue;
      // Geometric Brownian motion with no drift: E[S(t+dt)] = S(t). Floats only for the random shock.
      const z = s.rng.normal();
      const factor = Math.exp(s.sigmaStep * z - 0.5 * s.sigmaStep * s.sigmaStep);
      s.fair = Decimal.max(s.fair.mul(factor).toDecimalPlaces(12), s.tick);
      if (s.volumeDay !== day) {
        s.volume = new Decimal(0);
        s.volumeDay = day;
      }
      const tradedUnits = s.rng.int(0, Math.max(1, Math.round(s.profile.max / 2 / s.sizeUnit)));
      s.volume = s.volume.plus(tradedUnits * s.sizeUnit);
      s.quote = this.buildQuote(s, now);
      out.push(s.quote);
    }
    for (const q of out) this.emit(q);
    return out;
  }

  /** The latest quote (a frozen object: listeners and callers share it). */
  get(symbol: string, exchange: string): Quote | null {
    return this.states.get(instrumentKey(exchange, symbol))?.quote ?? null;
  }

  /** The latest quote of every instrument, in the order they were given. */
  quotes(): Quote[] {
    return [...this.states.values()].map((s) => s.quote);
  }

  onQuote(listener: (q: Quote) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Force the market to `price` (rounded onto the tick grid, at least one tick) and publish the quote at once:
   * last = price, bid one tick below (or at price when price is one tick), ask one tick above. The walk
   * continues from there. Tests use it to cross resting orders.
   */
  setPrice(symbol: string, exchange: string, price: string): Quote {
    const key = instrumentKey(exchange, symbol);
    const s = this.states.get(key);
    if (!s) throw new Error(`unknown instrument ${key}`);
    if (!isPositiveDecimal(price)) throw new RangeError(`price must be a positive decimal, got ${price}`);
    const last = onGrid(dec(price), s.tick);
    s.fair = last;
    const bid = last.gt(s.tick) ? last.minus(s.tick) : last;
    const now = this.clock.now();
    s.quote = Object.freeze({
      symbol: s.instrument.symbol,
      exchange: s.instrument.exchange,
      bid: fmt(bid),
      ask: fmt(last.plus(s.tick)),
      bidSize: s.quote.bidSize,
      askSize: s.quote.askSize,
      last: fmt(last),
      volume: fmt(s.volumeDay === utcDay(now) ? s.volume : 0),
      timestamp: now.toISOString(),
    });
    this.emit(s.quote);
    return s.quote;
  }

  private buildQuote(s: Omit<WalkState, 'quote'>, now: Date): Quote {
    const last = onGrid(s.fair, s.tick);
    // Spread of a few ticks: a fixed part plus a part proportional to volatility, then jitter.
    const spreadFraction = 0.00005 + 0.0002 * s.volatility;
    const baseTicks = Math.max(1, Math.round(last.mul(spreadFraction).div(s.tick).toNumber()));
    const spreadTicks = baseTicks + s.rng.int(0, Math.max(1, Math.floor(baseTicks / 2)));
    // Where the last trade sits inside the spread: at the bid, at the ask, or between.
    const ticksBelow = s.rng.int(0, spreadTicks);
    const bid = Decimal.max(last.minus(s.tick.mul(ticksBelow)), s.tick);
    const ask = bid.plus(s.tick.mul(spreadTicks));
    return Object.freeze({
      symbol: s.instrument.symbol,
      exchange: s.instrument.exchange,
      bid: fmt(bid),
      ask: fmt(ask),
      bidSize: String(this.displayedSize(s)),
      askSize: String(this.displayedSize(s)),
      last: fmt(last),
      volume: fmt(s.volume),
      timestamp: now.toISOString(),
    });
  }

  /** Log-uniform between the profile's bounds, rounded down to the size unit, at least one unit. */
  private displayedSize(s: Pick<WalkState, 'profile' | 'rng' | 'sizeUnit'>): number {
    const { min, max } = s.profile;
    const raw = Math.exp(Math.log(min) + s.rng.next() * (Math.log(max) - Math.log(min)));
    return Math.max(1, Math.floor(raw / s.sizeUnit)) * s.sizeUnit;
  }

  private emit(q: Quote): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(q);
      } catch (err) {
        this.logger?.warn({ err, symbol: q.symbol, exchange: q.exchange }, 'quote listener threw');
      }
    }
  }
}

function onGrid(value: Decimal, tick: Decimal): Decimal {
  return Decimal.max(roundToStep(value, tick, Rounding.HALF_UP), tick);
}

function isPositiveDecimal(text: string): boolean {
  try {
    const d = dec(text);
    return d.isFinite() && d.gt(0);
  } catch {
    return false;
  }
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}
