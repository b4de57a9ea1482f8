import type { Quote } from '../../market/quote.js';

type Waiter = { resolve: () => void; reject: (err: unknown) => void };

/**
 * Runs matching passes one at a time within a process, and coalesces bursts: while a pass runs, only the
 * newest quote per instrument waits (an older one would only be matched to be superseded).
 */
export class MatchQueue {
  private readonly pending = new Map<string, { quote: Quote; waiters: Waiter[] }>();
  private draining: Promise<void> | null = null;

  constructor(private readonly pass: (quote: Quote) => Promise<void>) {}

  /** Queue a pass for `quote`; resolves when a pass covering it (or a newer quote) has finished. */
  push(quote: Quote): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const key = `${quote.exchange}:${quote.symbol}`;
      const entry = this.pending.get(key);
      if (entry) {
        entry.quote = quote;
        entry.waiters.push({ resolve, reject });
      } else {
        this.pending.set(key, { quote, waiters: [{ resolve, reject }] });
      }
      this.draining ??= this.drain();
    });
  }

  /** Resolves once no pass is running or queued. */
  async idle(): Promise<void> {
    await this.draining;
  }

  private async drain(): Promise<void> {
    // `draining` is cleared in the same synchronous step as the emptiness check, so a quote pushed
    // afterwards always starts a new drain.
    for (;;) {
      const next = this.pending.entries().next();
      if (next.done) {
        this.draining = null;
        return;
      }
      const [key, { quote, waiters }] = next.value;
      this.pending.delete(key);
      try {
        await this.pass(quote);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
  }
}
