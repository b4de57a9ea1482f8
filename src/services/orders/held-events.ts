import type { OutboxRelay, StoredEvent } from '../../events/outbox.js';

/**
 * Events of the submit step (SUBMITTING), held for a moment so that they leave with the
 * acknowledgement's (OPEN and the paper exchange's immediate fills) in ONE publish: one Redis message per
 * portfolio per order instead of two, and one fewer for every api to receive. Any publish through
 * {@link published} sends every held event first, so this process still publishes a portfolio's events
 * in the order they were committed; what no acknowledgement picks up within `holdMs` (a slow broker) is
 * published alone then. Held events are committed outbox rows: if the process dies holding them, the
 * relay's poller publishes them, as it does any event whose publish was lost.
 */
export class HeldEvents implements Pick<OutboxRelay, 'published'> {
  private held: StoredEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly relay: Pick<OutboxRelay, 'published'>,
    private readonly holdMs: number,
  ) {}

  /** Keep `events` until the next publish, or `holdMs` at most. */
  hold(events: StoredEvent[]): void {
    if (events.length === 0) return;
    this.held.push(...events);
    this.timer ??= setTimeout(() => void this.published([]), this.holdMs);
  }

  /** Publish the held events, then `events`, in one call of the relay. */
  published(events: StoredEvent[]): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const all = this.held.length ? [...this.held, ...events] : events;
    this.held = [];
    return this.relay.published(all);
  }
}
