/**
 * Publishes the pooled path's committed events off its critical path. A parent fill's transaction
 * commits its children's fills and outbox rows together; handing the events to the relay (Redis
 * publish, the relay's listeners, the published marks) is work that need not precede the next
 * parent's allocation, so it is queued here and drained in the background, in large batches, while
 * the allocation lanes wait on Postgres. Nothing about delivery changes: an event stays unmarked in
 * the outbox until the relay has published it, so one this process never got to (it died) is
 * published by the relay's poller after its grace period (at least once; subscribers drop repeats
 * by sequence). {@link idle} resolves once everything queued so far is published (the window close
 * waits for it before it returns).
 */
import type { OutboxRelay, StoredEvent } from '../../events/outbox.js';

/** Events handed to the relay at once (one publish burst, one published mark). */
const CHUNK = 4000;

export class PooledPublisher {
  private queue: StoredEvent[] = [];
  private draining: Promise<void> | null = null;

  constructor(private readonly relay: OutboxRelay) {}

  /** Queue committed events; they are published in order, after what was queued before. */
  enqueue(events: StoredEvent[]): void {
    if (events.length === 0) return;
    for (const e of events) this.queue.push(e);
    this.draining ??= this.drain();
  }

  /** Resolves once every event queued so far has been handed to the relay. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
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
