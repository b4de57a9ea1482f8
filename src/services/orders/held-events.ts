import type { OutboxRelay, StoredEvent } from '../../events/outbox.js';

/**
 * Events of the submit step (SUBMITTING), held for a moment so that they leave with the
 * acknowledgement's (OPEN and the paper exchange's immediate fills) in ONE publish: one Redis message per
 * portfolio per order instead of two, and one fewer for every api to receive. Held per portfolio: a
 * publish through {@link published} sends first the held events of the portfolios it publishes for (so
 * this process still publishes each portfolio's events in the order they were committed) and leaves the
 * others' held, so an acknowledgement of one portfolio does not drag the SUBMITTING events of orders of
 * other portfolios into a message of their own (at 100 orders/s over 20 portfolios that was ≈ 0.6
 * extra messages per order). What no acknowledgement picks up within `holdMs` of being held (a slow
 * broker) is published alone then. Held events are committed outbox rows: if the process dies holding
 * them, the relay's poller publishes them, as it does any event whose publish was lost.
 */
export class HeldEvents implements Pick<OutboxRelay, 'published'> {
  /** Held events by portfolio, with when the first of them must leave at the latest (performance.now()). */
  private readonly held = new Map<string, { events: StoredEvent[]; until: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly relay: Pick<OutboxRelay, 'published'>,
    private readonly holdMs: number,
  ) {}

  /** Keep `events` until the next publish for their portfolio, or `holdMs` at most. */
  hold(events: StoredEvent[]): void {
    if (events.length === 0) return;
    const until = performance.now() + this.holdMs;
    for (const e of events) {
      const group = this.held.get(e.message.portfolioId);
      if (group) group.events.push(e);
      else this.held.set(e.message.portfolioId, { events: [e], until });
    }
    this.timer ??= setTimeout(() => this.expire(), this.holdMs);
  }

  /** Publish the held events of the portfolios of `events`, then `events`, in one call of the relay. */
  published(events: StoredEvent[]): Promise<void> {
    if (this.held.size === 0) return this.relay.published(events);
    const first: StoredEvent[] = [];
    for (const e of events) {
      const group = this.held.get(e.message.portfolioId);
      if (!group) continue;
      first.push(...group.events);
      this.held.delete(e.message.portfolioId);
    }
    if (this.held.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    return this.relay.published(first.length ? [...first, ...events] : events);
  }

  /** Publish what has been held `holdMs`; wait again for the rest. */
  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    const due: StoredEvent[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const [portfolioId, group] of this.held) {
      if (group.until <= now + 1) {
        due.push(...group.events);
        this.held.delete(portfolioId);
      } else next = Math.min(next, group.until);
    }
    if (next !== Number.POSITIVE_INFINITY) this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(next - now)));
    // A publish that fails leaves the events' pending rows to the relay's poller, as any lost publish.
    if (due.length) this.relay.published(due).catch(() => undefined);
  }
}
