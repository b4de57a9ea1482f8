/**
 * Turns a push subscription (pub/sub handler) into the pull `AsyncIterableIterator` GraphQL
 * subscriptions are made of, with a bounded buffer between a fast publisher and a slow client.
 */

/** Thrown by `next()` when the consumer fell further behind than the buffer allows (overflow: 'error'). */
export class SubscriptionOverflowError extends Error {
  constructor(readonly bufferSize: number) {
    super(`subscription fell more than ${bufferSize} events behind and was closed; reconnect to resume`);
    this.name = 'SubscriptionOverflowError';
  }
}

export interface AsyncIteratorOptions {
  /** Most values held for a consumer that is not pulling (default 1000). */
  bufferSize?: number;
  /**
   * What to do when the buffer is full. `'error'` (default) ends the iterator with
   * {@link SubscriptionOverflowError}: right for events a client must not miss (it reconnects with its
   * last sequence and replays from the outbox). `'drop-oldest'` discards the oldest value: right for
   * quotes, where only the latest matters.
   */
  overflow?: 'error' | 'drop-oldest';
}

/** An async iterator that also tells when its subscription is live. */
export interface SubscriptionIterator<T> extends AsyncIterableIterator<T> {
  /** Resolves once `subscribe` resolved (the subscription is live); rejects if it failed. */
  readonly ready: Promise<void>;
  /**
   * Push mode: from now on every value goes straight to `sink` (the buffered ones first, in order),
   * with no promise per value; `next()` then only settles when the iterator ends. For consumers that
   * fan one event out to many subscribers (src/server/frame-fanout.ts). Call it at most once.
   */
  divert(sink: (value: T) => void): void;
}

/**
 * Subscribes at once through `subscribe` (which receives a `push` function and resolves to an
 * unsubscribe function) and yields every pushed value in order. `return()` unsubscribes and ends the
 * iterator; values pushed after it are dropped. A failing `subscribe` makes `next()` reject.
 */
export function toAsyncIterator<T>(
  subscribe: (push: (value: T) => void) => Promise<() => Promise<void>>,
  opts: AsyncIteratorOptions = {},
): SubscriptionIterator<T> {
  const bufferSize = opts.bufferSize ?? 1000;
  if (!Number.isInteger(bufferSize) || bufferSize < 1) throw new RangeError(`bufferSize must be an integer >= 1, got ${bufferSize}`);
  const overflow = opts.overflow ?? 'error';

  const buffer: T[] = [];
  const pullers: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  let finished = false;
  /** An error to hand to the next `next()` call, once. */
  let failure: { error: unknown } | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  let sink: ((value: T) => void) | undefined;

  const settleDone = (): void => {
    for (const p of pullers.splice(0)) p.resolve({ value: undefined, done: true });
  };

  const stop = async (): Promise<void> => {
    if (finished) return;
    finished = true;
    buffer.length = 0;
    settleDone();
    const u = unsubscribe;
    unsubscribe = undefined;
    // If subscribe has not resolved yet, the `ready` handler below unsubscribes when it does.
    if (u) await u();
  };

  const fail = (error: unknown): void => {
    if (finished) return;
    const waiting = pullers.splice(0);
    if (waiting.length > 0) {
      for (const p of waiting) p.reject(error);
    } else {
      failure = { error };
    }
    void stop().catch(() => undefined);
  };

  const push = (value: T): void => {
    if (finished) return;
    if (sink) {
      sink(value);
      return;
    }
    const puller = pullers.shift();
    if (puller) {
      puller.resolve({ value, done: false });
      return;
    }
    if (buffer.length >= bufferSize) {
      if (overflow === 'drop-oldest') {
        buffer.shift();
      } else {
        fail(new SubscriptionOverflowError(bufferSize));
        return;
      }
    }
    buffer.push(value);
  };

  const ready = subscribe(push).then(
    async (u) => {
      if (finished) {
        await u();
        return;
      }
      unsubscribe = u;
    },
    (error: unknown) => {
      fail(error);
      throw error;
    },
  );
  // Marked handled: a caller that never looks at `ready` learns of the failure from next().
  ready.catch(() => undefined);

  const iterator: SubscriptionIterator<T> = {
    ready,
    divert(to: (value: T) => void): void {
      if (sink) throw new Error('divert() was already called');
      sink = to;
      for (const v of buffer.splice(0)) if (!finished) to(v);
    },
    next(): Promise<IteratorResult<T>> {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift() as T, done: false });
      if (failure) {
        const { error } = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => pullers.push({ resolve, reject }));
    },
    async return(): Promise<IteratorResult<T>> {
      await stop();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
