import type { PubSub, Unsubscribe } from '../events/pubsub.js';
import { toAsyncIterator } from '../events/async-iterator.js';
import type { QuoteMessage } from '../events/topics.js';
import { BurstRecorder } from './fanout-bursts.js';

type Listener = (q: QuoteMessage) => void;

interface Upstream {
  listeners: Set<Listener>;
  /** Settles when the one pub/sub subscription of this instrument is live; resolves to its unsubscribe. */
  ready: Promise<Unsubscribe>;
}

/**
 * One upstream 'quotes' subscription per instrument per process, shared by every `quotes(symbols)` and
 * `watchlistQuotes` subscriber of that instrument: a tick arrives once (parsed once) and every local
 * listener receives the SAME message object, so the GraphQL layer can execute it once per selection
 * (src/server/shared-execution.ts) instead of once per subscriber. Subscribes on the first listener of a
 * key, unsubscribes after the last one leaves.
 */
export class QuoteFanout {
  private readonly upstreams = new Map<string, Upstream>();
  /** Per-tick timing of the deliveries (quote_fanout_* metrics, bench:subscribers). */
  readonly bursts = new BurstRecorder();

  constructor(private readonly pubsub: PubSub) {}

  /** Listen to one instrument's quotes (key = "EXCHANGE:SYMBOL"); resolves once live. */
  async subscribe(key: string, listener: Listener): Promise<Unsubscribe> {
    let up = this.upstreams.get(key);
    if (!up) {
      const listeners = new Set<Listener>();
      const created: Upstream = {
        listeners,
        ready: this.pubsub.subscribe('quotes', key, (q) => {
          const now = [...listeners];
          this.bursts.time(q.timestamp, now.length, () => {
            for (const l of now) {
              try {
                l(q);
              } catch {
                // a listener is a subscription's push: it does not throw; one that did must not stop the rest
              }
            }
          });
        }),
      };
      up = created;
      this.upstreams.set(key, up);
      created.ready.catch(() => {
        if (this.upstreams.get(key) === created) this.upstreams.delete(key);
      });
    }
    // Wrapped so the same function listening twice is two listeners, each removed by its own unsubscribe.
    const entry: Listener = (q) => listener(q);
    up.listeners.add(entry);
    const current = up;
    try {
      await current.ready;
    } catch (err) {
      current.listeners.delete(entry);
      throw err;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      current.listeners.delete(entry);
      if (current.listeners.size > 0 || this.upstreams.get(key) !== current) return;
      this.upstreams.delete(key);
      const unsubscribe = await current.ready.catch(() => null);
      await unsubscribe?.();
    };
  }

  /** Instruments with a live upstream subscription (for tests and metrics). */
  get upstreamCount(): number {
    return this.upstreams.size;
  }

  /** Local listeners of one instrument. */
  listenerCount(key: string): number {
    return this.upstreams.get(key)?.listeners.size ?? 0;
  }
}

const byPubSub = new WeakMap<PubSub, QuoteFanout>();

/** The process's fan-out over `pubsub`: one per pub/sub instance, so every service shares it. */
export function quoteFanout(pubsub: PubSub): QuoteFanout {
  let f = byPubSub.get(pubsub);
  if (!f) byPubSub.set(pubsub, (f = new QuoteFanout(pubsub)));
  return f;
}

/**
 * A subscriber's quote stream over some instruments: each one's latest quote at once (from `latest`), then
 * every tick through the process's shared fan-out. Slow consumers drop their oldest quotes, never block.
 */
export async function liveQuotes<I extends { exchange: string; symbol: string }>(
  pubsub: PubSub,
  instruments: readonly I[],
  latest: (i: I) => QuoteMessage | null,
  bufferSize: number,
): Promise<AsyncIterableIterator<QuoteMessage>> {
  const keys = [...new Set(instruments.map((i) => `${i.exchange}:${i.symbol}`))];
  const it = toAsyncIterator<QuoteMessage>(
    async (push) => {
      const fanout = quoteFanout(pubsub);
      const unsubs = await Promise.all(keys.map((k) => fanout.subscribe(k, push)));
      for (const i of instruments) {
        const q = latest(i);
        if (q) push(q);
      }
      return async () => {
        await Promise.all(unsubs.map((u) => u()));
      };
    },
    { overflow: 'drop-oldest', bufferSize },
  );
  await it.ready;
  return it;
}
