import { describe, expect, it } from 'vitest';
import { lazyMap } from './batch-sql.js';

describe('lazyMap', () => {
  it('sends nothing until it is awaited, so a pipeline keeps the order its statements are awaited in', async () => {
    const sent: string[] = [];
    // A statement as drizzle returns one: sent when `then` is first called.
    const statement = (name: string, rows: number[]): PromiseLike<number[]> => ({
      then: (ok, fail) => {
        sent.push(name);
        return Promise.resolve(rows).then(ok, fail);
      },
    });
    const read = lazyMap(statement('read', [1, 2]), (rows) => rows.map((n) => n * 10));
    expect(sent).toEqual([]);
    const [, mapped] = await Promise.all([statement('settings', []), read]);
    expect(sent).toEqual(['settings', 'read']);
    expect(mapped).toEqual([10, 20]);
  });

  it('passes a failed statement on to the awaiting caller', async () => {
    const failing: PromiseLike<number[]> = { then: (ok, fail) => Promise.reject(new Error('boom')).then(ok, fail) };
    await expect(Promise.resolve(lazyMap(failing, (r) => r.length))).rejects.toThrow('boom');
  });
});
