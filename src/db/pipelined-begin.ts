/**
 * A postgres.js transaction whose BEGIN travels with its first statements instead of a round trip of
 * its own. postgres.js's `sql.begin` awaits BEGIN's reply before it runs the transaction's body, so
 * every transaction paid one more round trip (each a socket write and wake-up in the client, Postgres
 * and the kernel) than its statements need; at small batches that was a fifth of the order loop's
 * round trips. Here the connection is reserved, BEGIN is handed to it (not awaited) before the body
 * issues anything, and the connection sends both in order, pipelined.
 *
 * Same contract as `sql.begin(fn)`: the body's result once COMMIT succeeded; a body that throws is
 * rolled back and its error rethrown; savepoints (drizzle's nested transactions) work. A transaction
 * Postgres aborted (a statement the body did not await failed) answers COMMIT with ROLLBACK, which is
 * an error here, as postgres.js's own begin makes it one.
 */

/** The slice of a postgres.js reserved connection this uses. */
export interface Reserved {
  unsafe(query: string): PromiseLike<{ command?: string | null }> & { execute(): unknown };
  release(): void;
}

export class TransactionAbortedError extends Error {
  constructor(command: string | null | undefined) {
    super(`transaction aborted: COMMIT answered ${command ?? 'nothing'}`);
    this.name = 'TransactionAbortedError';
  }
}

export async function pipelinedBegin<T>(reserve: () => Promise<Reserved>, fn: (tx: Reserved & { savepoint: unknown }) => T | Promise<T>): Promise<T> {
  const conn = await reserve();
  try {
    const begin = conn.unsafe('begin');
    begin.execute();
    // Queued before the body's first statement: postgres.js hands an executed query to its connection
    // one microtask later, and this continuation is queued after that one.
    await null;
    const began = Promise.resolve(begin).then(
      () => null,
      (err: unknown) => err,
    );
    let result: T;
    try {
      result = await fn(withSavepoints(conn));
      const failed = await began;
      if (failed) throw failed;
    } catch (err) {
      await Promise.resolve(conn.unsafe('rollback')).then(
        () => undefined,
        () => undefined,
      );
      throw err;
    }
    const done = await conn.unsafe('commit');
    if (done.command !== 'COMMIT') throw new TransactionAbortedError(done.command);
    return result;
  } finally {
    conn.release();
  }
}

/** The reserved connection with `savepoint(fn)` / `savepoint(name, fn)`, as postgres.js gives its transactions. */
function withSavepoints(conn: Reserved): Reserved & { savepoint: unknown } {
  let n = 0;
  const tx: Reserved & { savepoint: unknown } = new Proxy(conn as Reserved & { savepoint: unknown }, {
    get(target, prop, receiver) {
      if (prop !== 'savepoint') {
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      }
      return async (...a: unknown[]) => {
        const body = a[a.length - 1] as (c: unknown) => unknown;
        const name = `s${++n}`;
        await conn.unsafe(`savepoint ${name}`);
        try {
          return await body(tx);
        } catch (err) {
          await conn.unsafe(`rollback to savepoint ${name}`);
          throw err;
        }
      };
    },
  });
  return tx;
}
