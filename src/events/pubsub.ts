/**
 * The pub/sub port. Two adapters with one contract (test/ports/pubsub.contract.ts): Redis (redis.pubsub.ts),
 * so any api replica serves any subscriber, and in process (memory.pubsub.ts). Payloads are JSON-safe.
 */
import type { TopicMap } from './topics.js';

export type Unsubscribe = () => Promise<void>;

export interface PubSub {
  /** Publish to `topic` under `key` (a portfolio id, a symbol...). Delivered to every current subscriber. */
  publish<T extends keyof TopicMap & string>(topic: T, key: string, payload: TopicMap[T]): Promise<void>;
  /**
   * Publish many payloads of one topic at once, each to the subscribers of its key, in order per key
   * (as many `publish` calls would). Redis: one round trip, one message per key however many payloads
   * it holds. Optional: callers fall back to `publish` for adapters without it.
   */
  publishMany?<T extends keyof TopicMap & string>(topic: T, items: readonly { key: string; payload: TopicMap[T] }[]): Promise<void>;
  /** Subscribe; resolves once the subscription is live (no message published after that is missed). */
  subscribe<T extends keyof TopicMap & string>(
    topic: T,
    key: string,
    handler: (payload: TopicMap[T]) => void,
  ): Promise<Unsubscribe>;
  close(): Promise<void>;
}
