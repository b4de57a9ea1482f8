/**
 * Per-tick timing of the quote fan-out on this process: the quotes that share one `timestamp` (one tick
 * of the market, which may cover many instruments when they tick in the same instant) form a burst, and
 * for each burst we keep how late its first quote reached the fan-out (the pub/sub hop) and how long this
 * process took from that moment to the end of the last synchronous delivery (frames written) — the drain.
 * A subscriber's tick-to-socket time is at most lag + drain; when every instrument ticks at once, the
 * drain of ~all subscribers' frames is what p50/p99 measure.
 *
 * Costs a clock read and a few numbers per upstream message (per instrument per tick), nothing per
 * subscriber.
 */

export interface Burst {
  /** The quotes' timestamp, epoch ms. */
  at: number;
  /** First quote of the burst reaching the fan-out − `at`, ms. */
  lagMs: number;
  /** End of the last delivery of the burst − start of the first, ms. */
  drainMs: number;
  /** Time spent inside deliveries (the rest of the drain was other work or idle), ms. */
  busyMs: number;
  /** Upstream messages (instruments) and listener calls (subscriber deliveries) in the burst. */
  messages: number;
  deliveries: number;
}

export interface BurstSummary {
  bursts: number;
  lagP50: number;
  lagP99: number;
  drainP50: number;
  drainP99: number;
  drainMax: number;
  /** Mean deliveries per burst, and µs of delivery work per delivery. */
  deliveriesPerBurst: number;
  busyUsPerDelivery: number;
}

const RING = 4096;

export class BurstRecorder {
  private readonly ring: Burst[] = [];
  private next = 0;
  private current: Burst & { key: string; start: number } = { key: '', at: 0, start: 0, lagMs: 0, drainMs: 0, busyMs: 0, messages: 0, deliveries: 0 };

  /** `now`: epoch ms with sub-millisecond precision. */
  constructor(private readonly now: () => number = () => performance.timeOrigin + performance.now()) {}

  /** Time one upstream message's synchronous delivery to `deliveries` listeners. */
  time(timestamp: string, deliveries: number, deliver: () => void): void {
    const start = this.now();
    deliver();
    const end = this.now();
    let c = this.current;
    if (c.key !== timestamp) {
      this.close();
      const at = Date.parse(timestamp);
      c = this.current = { key: timestamp, at, start, lagMs: start - at, drainMs: 0, busyMs: 0, messages: 0, deliveries: 0 };
    }
    c.drainMs = end - c.start;
    c.busyMs += end - start;
    c.messages++;
    c.deliveries += deliveries;
  }

  /** Bursts whose quotes are stamped within the last `windowMs` (the open one included). */
  recent(windowMs: number): Burst[] {
    const from = this.now() - windowMs;
    const all = [...this.ring, ...(this.current.messages > 0 ? [this.current] : [])];
    return all.filter((b) => b.at >= from).map(({ at, lagMs, drainMs, busyMs, messages, deliveries }) => ({ at, lagMs, drainMs, busyMs, messages, deliveries }));
  }

  summary(windowMs: number): BurstSummary {
    return summarize(this.recent(windowMs));
  }

  private close(): void {
    const c = this.current;
    if (c.messages === 0) return;
    const { at, lagMs, drainMs, busyMs, messages, deliveries } = c;
    const b: Burst = { at, lagMs, drainMs, busyMs, messages, deliveries };
    if (this.ring.length < RING) this.ring.push(b);
    else this.ring[this.next] = b;
    this.next = (this.next + 1) % RING;
  }
}

export function summarize(bursts: readonly Burst[]): BurstSummary {
  const q = (xs: number[], p: number) => {
    if (xs.length === 0) return 0;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  };
  const drains = bursts.map((b) => b.drainMs);
  const deliveries = bursts.reduce((a, b) => a + b.deliveries, 0);
  const busy = bursts.reduce((a, b) => a + b.busyMs, 0);
  return {
    bursts: bursts.length,
    lagP50: q(bursts.map((b) => b.lagMs), 50),
    lagP99: q(bursts.map((b) => b.lagMs), 99),
    drainP50: q(drains, 50),
    drainP99: q(drains, 99),
    drainMax: drains.length ? Math.max(...drains) : 0,
    deliveriesPerBurst: bursts.length ? deliveries / bursts.length : 0,
    busyUsPerDelivery: deliveries ? (busy * 1000) / deliveries : 0,
  };
}
