/**
 * In-process pub/sub of the embedded mode. Same contract as the Redis adapter
 * (test/ports/pubsub.contract.ts).
 */
import type { Logger } from '../lib/logger.js';
import type { PubSub, Unsubscribe } from './pubsub.js';
import type { TopicMap } from './topics.js';

type Handler = (payload: unknown) => void;

/** {@link PubSub} inside one process. */
export class MemoryPubSub implements PubSub {
  private readonly channels = new Map<string, Set<Handler>>();
  private readonly logger: Logger;
  private closed = false;

  constructor(opts: { logger: Logger }) {
    this.logger = opts.logger.child({ component: 'pubsub' });
  }

  async publish<T extends keyof TopicMap & string>(topic: T, key: string, payload: TopicMap[T]): Promise<void> {
    if (this.closed) throw new Error('pubsub is closed');
    const handlers = this.channels.get(channelOf(topic, key));
    // Serialized even with nobody listening, so a payload that is not JSON-safe fails here as it would
    // on Redis; subscribers get a copy, as they would from Redis, never the publisher's object.
    const message = JSON.stringify(payload);
    if (!handlers || handlers.size === 0) return;
    const copy = JSON.parse(message) as unknown;
    for (const handler of [...handlers]) {
      // A microtask per handler: the publisher never runs subscriber code on its stack, and one handler
      // throwing cannot stop the others.
      queueMicrotask(() => {
        if (!handlers.has(handler)) return; // unsubscribed between publish and delivery
        try {
          handler(copy);
        } catch (err) {
          this.logger.error({ err, topic, key }, 'subscriber handler threw');
        }
      });
    }
  }

  async publishMany<T extends keyof TopicMap & string>(topic: T, items: readonly { key: string; payload: TopicMap[T] }[]): Promise<void> {
    // All dispatched now, in order (as Redis writes a pipeline's commands in order): a later publish of
    // this process can never overtake one of these.
    await Promise.all(items.map(({ key, payload }) => this.publish(topic, key, payload)));
  }

  async subscribe<T extends keyof TopicMap & string>(
    topic: T,
    key: string,
    handler: (payload: TopicMap[T]) => void,
  ): Promise<Unsubscribe> {
    if (this.closed) throw new Error('pubsub is closed');
    const channel = channelOf(topic, key);
    let handlers = this.channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.channels.set(channel, handlers);
    }
    // Wrapped so the same function subscribed twice gets two subscriptions, like the Redis adapter.
    const entry: Handler = (payload) => handler(payload as TopicMap[T]);
    handlers.add(entry);
    const set = handlers;
    return async () => {
      set.delete(entry);
      if (set.size === 0 && this.channels.get(channel) === set) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    // Emptying the sets also drops deliveries already queued as microtasks.
    for (const handlers of this.channels.values()) handlers.clear();
    this.channels.clear();
  }
}

function channelOf(topic: string, key: string): string {
  return `${topic}:${key}`;
}
