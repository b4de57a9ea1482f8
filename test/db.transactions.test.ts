/**
 * The database's transactions, in both modes: on Postgres each transaction sends BEGIN pipelined with
 * its first statements (src/db/pipelined-begin.ts) instead of awaiting it; what a transaction means must
 * not change: all or nothing, a throwing body rolled back, nested transactions as savepoints, and a
 * statement that failed unawaited failing the commit.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDb, type DbHandle } from '../src/db/client.js';
import { rowsOf } from '../src/db/batch-sql.js';
import { modes } from './support/env.js';
import { createTestDatabase } from './support/server.js';

describe.each(modes())('transactions (%s)', (mode) => {
  let h: DbHandle;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const pg = mode === 'scaled' ? await createTestDatabase() : undefined;
    drop = pg?.drop;
    h = await openDb(pg ? { url: pg.url, poolSize: 4 } : { dataDir: 'memory://' });
    await migrate(h);
    await h.db.execute(sql`create table if not exists tx_probe (k text primary key, v int not null)`);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await drop?.();
  });
  const value = async (k: string) => rowsOf<{ v: number }>(await h.db.execute(sql`select v from tx_probe where k = ${k}`))[0]?.v ?? null;

  it('commits every statement of a transaction together, the first issued without awaiting BEGIN', async () => {
    const r = await h.db.transaction(async (tx) => {
      const [a, b] = await Promise.all([tx.execute(sql`insert into tx_probe values ('a', 1)`), tx.execute(sql`insert into tx_probe values ('b', 2)`)]);
      expect(a).toBeDefined();
      expect(b).toBeDefined();
      // Inside: a transaction, not autocommit (txid_current stays the same across statements).
      const [x] = rowsOf<{ t: string }>(await tx.execute(sql`select txid_current()::text as t`));
      const [y] = rowsOf<{ t: string }>(await tx.execute(sql`select txid_current()::text as t`));
      expect(x.t).toBe(y.t);
      return 'ok';
    });
    expect(r).toBe('ok');
    expect([await value('a'), await value('b')]).toEqual([1, 2]);
  });

  it('rolls back everything a throwing body wrote', async () => {
    await expect(
      h.db.transaction(async (tx) => {
        await tx.execute(sql`insert into tx_probe values ('c', 3)`);
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await value('c')).toBeNull();
  });

  it('rolls back a nested transaction alone (savepoint) and commits the rest', async () => {
    await h.db.transaction(async (tx) => {
      await tx.execute(sql`insert into tx_probe values ('d', 4)`);
      await tx
        .transaction(async (inner) => {
          await inner.execute(sql`insert into tx_probe values ('e', 5)`);
          throw new Error('inner');
        })
        .catch(() => undefined);
    });
    expect([await value('d'), await value('e')]).toEqual([4, null]);
  });

  it('fails the transaction when one of its statements failed, awaited or not', async () => {
    await expect(
      h.db.transaction(async (tx) => {
        await tx.execute(sql`insert into tx_probe values ('f', 6)`);
        await tx.execute(sql`insert into tx_probe values ('f', 7)`); // duplicate key
      }),
    ).rejects.toThrow();
    expect(await value('f')).toBeNull();
  });

  it('keeps concurrent transactions apart (each on its own connection)', async () => {
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        h.db.transaction(async (tx) => {
          await tx.execute(sql`insert into tx_probe values (${`g${i}`}, ${i})`);
          const [n] = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from tx_probe where k like 'g%'`));
          expect(n.n).toBeGreaterThanOrEqual(1);
        }),
      ),
    );
    for (let i = 0; i < 8; i++) expect(await value(`g${i}`)).toBe(i);
  });
});
