import { BrokerRateLimitedError, BrokerRejectedError, BrokerTransientError } from '../broker.js';

/** Calls that can be made to fail. */
export type FaultOp = 'placeOrder' | 'cancelOrder' | 'getOrder' | 'reduceOrder';

/**
 * - `transient`: the call fails before reaching the exchange (`BrokerTransientError`); nothing happened.
 * - `reject`: the exchange refuses the call (`BrokerRejectedError`); nothing happened.
 * - `rate-limited`: `BrokerRateLimitedError`; nothing happened.
 * - `lost-response`: the exchange DOES the work (records the order, cancels it...), then the caller gets
 *   `BrokerTransientError` as if the response were lost on the network. This is what crash recovery and
 *   adoption by client order id must cope with.
 */
export type FaultKind = 'transient' | 'reject' | 'rate-limited' | 'lost-response';

export interface FaultSpec {
  op: FaultOp;
  kind: FaultKind;
  /** How many of the next calls to `op` fail this way (default 1). */
  times?: number;
}

export interface RandomFaults {
  /** Probability in [0, 1] that any faultable call fails. */
  rate: number;
  /** PRNG seed, so a soak test that fails can be replayed. */
  seed: number;
  /** Which kinds to draw from (default: the retryable ones: transient, rate-limited, lost-response). */
  kinds?: FaultKind[];
}

/** mulberry32: tiny, fast, seeded. Not for money: only decides when to inject failures. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Latency and failure injection for the paper broker. Scripted faults (`inject`) are consumed first, in
 * the order given; then the seeded random faults, if configured.
 */
export class FaultInjector {
  private readonly scripted: { op: FaultOp; kind: FaultKind; left: number }[] = [];
  private readonly random: (() => number) | null;
  private readonly randomKinds: FaultKind[];

  constructor(
    private readonly opts: { latencyMs?: number; random?: RandomFaults; retryAfterMs?: number } = {},
  ) {
    this.random = opts.random && opts.random.rate > 0 ? seededRandom(opts.random.seed) : null;
    this.randomKinds = opts.random?.kinds ?? ['transient', 'rate-limited', 'lost-response'];
  }

  inject(spec: FaultSpec): void {
    this.scripted.push({ op: spec.op, kind: spec.kind, left: spec.times ?? 1 });
  }

  /** Drop every scripted fault not yet consumed. */
  clear(): void {
    this.scripted.length = 0;
  }

  /**
   * Run one call with latency and any fault due for it. `work` is the real call; it runs unless the fault
   * says the call never reached the exchange.
   */
  async run<T>(op: FaultOp, work: () => Promise<T>): Promise<T> {
    if (this.opts.latencyMs && this.opts.latencyMs > 0) await sleep(this.opts.latencyMs);
    const kind = this.take(op);
    switch (kind) {
      case null:
        return work();
      case 'transient':
        throw new BrokerTransientError(`injected transient failure in ${op}`);
      case 'reject':
        throw new BrokerRejectedError(`injected rejection in ${op}`, 'INJECTED_REJECTION');
      case 'rate-limited':
        throw new BrokerRateLimitedError(this.opts.retryAfterMs ?? 1000);
      case 'lost-response':
        await work();
        throw new BrokerTransientError(`injected lost response in ${op} (the call took effect)`);
    }
  }

  private take(op: FaultOp): FaultKind | null {
    const i = this.scripted.findIndex((f) => f.op === op);
    if (i >= 0) {
      const f = this.scripted[i];
      f.left -= 1;
      if (f.left <= 0) this.scripted.splice(i, 1);
      return f.kind;
    }
    if (this.random && this.random() < (this.opts.random?.rate ?? 0)) {
      return this.randomKinds[Math.floor(this.random() * this.randomKinds.length)] ?? null;
    }
    return null;
  }
}
