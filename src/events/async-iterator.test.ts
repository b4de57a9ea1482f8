import { describe, expect, it } from 'vitest';
import { SubscriptionOverflowError, toAsyncIterator } from './async-iterator.js';

/** A fake push source: records subscribe/unsubscribe and lets the test push values. */
function source<T>() {
  const state = { push: undefined as ((v: T) => void) | undefined, subscribed: 0, unsubscribed: 0 };
  const subscribe = async (push: (v: T) => void) => {
    state.push = push;
    state.subscribed += 1;
    return async () => {
      state.unsubscribed += 1;
    };
  };
  return { state, subscribe, push: (v: T) => state.push?.(v) };
}

describe('toAsyncIterator', () => {
  it('buffers values pushed before they are pulled, and yields them in order', async () => {
    const s = source<number>();
    const it = toAsyncIterator(s.subscribe);
    await it.ready;
    s.push(1);
    s.push(2);
    s.push(3);
    expect(await it.next()).toEqual({ value: 1, done: false });
    expect(await it.next()).toEqual({ value: 2, done: false });
    expect(await it.next()).toEqual({ value: 3, done: false });
  });

  it('resolves a pending next() when a value arrives', async () => {
    const s = source<string>();
    const it = toAsyncIterator(s.subscribe);
    await it.ready;
    const pending = it.next();
    s.push('fill');
    expect(await pending).toEqual({ value: 'fill', done: false });
  });

  it('unsubscribes on return(), ends pending and later next() calls, and drops values pushed after', async () => {
    const s = source<number>();
    const it = toAsyncIterator(s.subscribe);
    await it.ready;
    const pending = it.next();
    expect(await it.return?.()).toEqual({ value: undefined, done: true });
    expect(s.state.unsubscribed).toBe(1);
    expect(await pending).toEqual({ value: undefined, done: true });
    s.push(42);
    expect(await it.next()).toEqual({ value: undefined, done: true });
    await it.return?.();
    expect(s.state.unsubscribed).toBe(1); // only once
  });

  it('unsubscribes when the consumer breaks out of for await', async () => {
    const s = source<number>();
    const it = toAsyncIterator(s.subscribe);
    await it.ready;
    s.push(1);
    s.push(2);
    const seen: number[] = [];
    for await (const v of it) {
      seen.push(v);
      break;
    }
    expect(seen).toEqual([1]);
    expect(s.state.unsubscribed).toBe(1);
  });

  it('unsubscribes once subscribe resolves when return() came first', async () => {
    let release!: () => void;
    let unsubscribed = 0;
    const it = toAsyncIterator<number>(async () => {
      await new Promise<void>((r) => (release = r));
      return async () => {
        unsubscribed += 1;
      };
    });
    await it.return?.();
    expect(unsubscribed).toBe(0);
    release();
    await it.ready;
    expect(unsubscribed).toBe(1);
  });

  it('ends with SubscriptionOverflowError when a slow consumer overflows the buffer (default)', async () => {
    const s = source<number>();
    const it = toAsyncIterator(s.subscribe, { bufferSize: 3 });
    await it.ready;
    for (let i = 1; i <= 4; i += 1) s.push(i);
    await expect(it.next()).rejects.toBeInstanceOf(SubscriptionOverflowError);
    expect(s.state.unsubscribed).toBe(1);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it("drops the oldest values on overflow with 'drop-oldest'", async () => {
    const s = source<number>();
    const it = toAsyncIterator(s.subscribe, { bufferSize: 2, overflow: 'drop-oldest' });
    await it.ready;
    for (let i = 1; i <= 5; i += 1) s.push(i);
    expect((await it.next()).value).toBe(4);
    expect((await it.next()).value).toBe(5);
    expect(s.state.unsubscribed).toBe(0);
  });

  it('rejects next() and ready when subscribe fails', async () => {
    const it = toAsyncIterator<number>(async () => {
      throw new Error('redis down');
    });
    await expect(it.ready).rejects.toThrow('redis down');
    await expect(it.next()).rejects.toThrow('redis down');
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });
});
