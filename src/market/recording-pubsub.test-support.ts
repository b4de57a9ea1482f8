/**
 * Test support for the market tests: a PubSub that records every publish and delivers it synchronously to
 * current subscribers of the same topic and key. Not an adapter: the real ones live in src/events/.
 */
import type { PubSub, Unsubscribe } from '../events/pubsub.js';
import type { TopicMap } from '../events/topics.js';

export interface Published {
  topic: keyof TopicMap & string;
  key: string;
  payload: unknown;
}

export class RecordingPubSub implements PubSub {
  readonly published: Published[] = [];
  /** When set, publish rejects with it (after recording nothing). */
  failWith: Error | null = null;
  private readonly handlers = new Map<string, Set<(payload: never) => void>>();

  async publish<T extends keyof TopicMap & string>(topic: T, key: string, payload: TopicMap[T]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.published.push({ topic, key, payload });
    for (const h of [...(this.handlers.get(`${topic}\u0000${key}`) ?? [])]) (h as (p: TopicMap[T]) => void)(payload);
  }

  async subscribe<T extends keyof TopicMap & string>(topic: T, key: string, handler: (payload: TopicMap[T]) => void): Promise<Unsubscribe> {
    const k = `${topic}\u0000${key}`;
    let set = this.handlers.get(k);
    if (!set) this.handlers.set(k, (set = new Set()));
    const h = handler as (payload: never) => void;
    set.add(h);
    return async () => {
      set.delete(h);
    };
  }

  /** How many handlers are subscribed in all. */
  get subscriberCount(): number {
    let n = 0;
    for (const s of this.handlers.values()) n += s.size;
    return n;
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
