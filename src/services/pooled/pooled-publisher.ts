/**
 * Publishes the pooled path's committed events after the allocations that wrote them. A parent fill's
 * transaction commits its children's fills and outbox rows together; handing the events to the relay
 * (Redis publish, the relay's listeners such as notifications, deleting the pending rows) is work that need
 * not precede the next parent's allocation, and on a busy box it takes the CPU (ours and Postgres's)
 * the allocations need. So while an allocation run is in progress in this process (a window close's
 * lanes, a parent's drive: {@link deferWhile}) committed events wait here, and are drained in large
 * batches once the run ends, or once the oldest has waited {@link MAX_DEFER_MS} (a long run, e.g. a
 * parent filling over many quotes, still publishes as it goes).
 *
 * Nothing about delivery changes: an event stays pending in the outbox (its statement's outbox_pending row)
 * until the relay has published it, so one this process never got to (it died) is published by the relay's poller after its grace
 * period (at least once; subscribers drop repeats by sequence). {@link idle} publishes everything
 * queued so far and resolves once it is handed to the relay (the window close waits for it).
 */
import type { OutboxRelay, StoredEvent } from '../../events/outbox.js';

/** Events handed to the relay at once (one publish burst; a statement's pending row goes once all its events are out). */
const CHUNK = 4000;
/**
 * The longest an event waits for the allocations to end: below the relay's grace period (2 s), after
 * which its poller would publish the same rows a second time.
 */
export const MAX_DEFER_MS = 1500;

export class PooledPublisher {
  private queue: StoredEvent[] = [];
  /** When the oldest queued event was queued (performance.now()). */
  private oldestAt = 0;
  private draining: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** Allocation runs in progress: while > 0, publishing waits (up to MAX_DEFER_MS). */
  private runs = 0;

  constructor(
    private readonly relay: OutboxRelay,
    private readonly maxDeferMs = MAX_DEFER_MS,
  ) {}

  /** Run `fn` (an allocation run) with publishing deferred until it ends (at most maxDeferMs per event). */
  async deferWhile<T>(fn: () => Promise<T>): Promise<T> {
    this.runs++;
    try {
      return await fn();
    } finally {
      this.runs--;
      this.kick();
    }
  }

  /** Queue committed events; they are published in order, after what was queued before. */
  enqueue(events: StoredEvent[]): void {
    if (events.length === 0) return;
    if (this.queue.length === 0) this.oldestAt = performance.now();
    for (const e of events) this.queue.push(e);
    this.kick();
  }

  /** Publishes what is queued now, whatever runs; resolves once every event queued so far has been handed to the relay. */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.draining) {
      this.draining ??= this.drain();
      await this.draining;
    }
  }

  /** Start draining when nothing defers it (or the oldest event has waited long enough); else wake up then. */
  private kick(): void {
    if (this.draining || this.queue.length === 0) return;
    const wait = this.runs === 0 ? 0 : this.oldestAt + this.maxDeferMs - performance.now();
    if (wait <= 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.draining = this.drain();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, wait).unref();
  }

  private async drain(): Promise<void> {
    try {
      // Let the allocation that queued these go on first (its next statements are already waiting).
      await new Promise((r) => setImmediate(r));
      while (this.queue.length > 0) {
        const batch = this.queue.length <= CHUNK ? this.queue : this.queue.slice(0, CHUNK);
        this.queue = this.queue.length <= CHUNK ? [] : this.queue.slice(CHUNK);
        // relay.published never throws: a failed publish is left to its poller.
        await this.relay.published(batch);
      }
    } finally {
      this.draining = null;
    }
  }
}
