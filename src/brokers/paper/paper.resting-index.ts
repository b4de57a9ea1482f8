/**
 * Which instruments may have resting paper orders, so the matching process runs a pass (a SELECT of the
 * instrument's open orders, then a transaction per candidate) only for those: with spread ticks every
 * instrument quotes once per interval, and a pass per quote on an empty book was most of what an idle
 * worker spent (≈ 90 statements/s for the 50 simulated instruments at a 500 ms tick).
 *
 * Never a false "no": an instrument leaves the index only when a pass that began after the last news of
 * it found its book empty (a generation per key guards the race with a placement committing meanwhile).
 * News comes from this process's own placements and matches (`add`, at once) and from a periodic scan of
 * the whole resting book (`refreshed`), which is how orders placed by OTHER worker processes are learnt:
 * such an order is first matched at placement (against the quote of that moment) and then against the
 * quotes that follow the matcher's next scan, at most one refresh interval later. Until the first scan
 * has completed every instrument counts as possibly resting (exact at start and after a leader change).
 */
export class RestingIndex {
  private ready = false;
  private generation = 0;
  /** Instrument key → generation of the last news that an order may rest there. */
  private readonly keys = new Map<string, number>();

  /** Whether a pass for `key` could find anything. */
  mayRest(key: string): boolean {
    return !this.ready || this.keys.has(key);
  }

  /** An order may rest on `key` (placed or left partly filled by this process, or seen by a scan). */
  add(key: string): void {
    this.keys.set(key, ++this.generation);
  }

  /** Taken before a pass reads the book; hand it back to `foundEmpty` if the pass found nothing. */
  token(key: string): number {
    return this.keys.get(key) ?? 0;
  }

  /** A pass that took `token` before reading found no resting order: forget `key` unless news came since. */
  foundEmpty(key: string, token: number): void {
    if (this.ready && this.keys.get(key) === token) this.keys.delete(key);
  }

  /** A scan of the whole book (begun after every placement it must cover had committed) found these keys. */
  refreshed(keys: Iterable<string>): void {
    for (const k of keys) this.add(k);
    this.ready = true;
  }

  /** Matching stopped: know nothing until the next scan. */
  reset(): void {
    this.ready = false;
    this.keys.clear();
  }

  /** Instruments currently believed to have resting orders (tests and metrics). */
  get size(): number {
    return this.keys.size;
  }
}

/**
 * Keeps a {@link RestingIndex} fed by scanning the resting book every `everyMs` (the first scan at once),
 * while matching is on. One statement per interval, against one per quote before.
 */
export class RestingScanner {
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;

  constructor(
    private readonly index: RestingIndex,
    private readonly scan: () => Promise<string[]>,
    private readonly everyMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.scanNow(), this.everyMs);
    this.timer.unref();
    void this.scanNow();
  }

  /** One scan now (skipped while one runs); resolves when it is done. */
  scanNow(): Promise<void> {
    this.scanning ??= this.scan()
      .then((keys) => {
        if (this.timer) this.index.refreshed(keys);
      })
      .catch(this.onError)
      .finally(() => (this.scanning = null));
    return this.scanning;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.index.reset();
    await this.scanning;
  }
}
