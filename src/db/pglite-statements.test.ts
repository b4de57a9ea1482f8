import { PGlite, protocol, types } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PreparedStatements, bindExecuteSync } from './pglite-statements.js';

/** drizzle's options for its PGlite queries: dates and timestamps come back as text. */
const drizzleLike = {
  parsers: {
    [types.TIMESTAMP]: (v: string) => v,
    [types.TIMESTAMPTZ]: (v: string) => v,
    [types.DATE]: (v: string) => v,
  },
};

describe('PreparedStatements (PGlite statements prepared once)', () => {
  let pg: PGlite;
  let client: PGlite;

  beforeAll(async () => {
    pg = new PGlite();
  });
  beforeEach(async () => {
    await pg.exec(`drop table if exists t; create table t (id uuid primary key, n int not null, amount numeric, tags text[], doc jsonb, at timestamptz default '2026-01-02 03:04:05+00');`);
    // A fresh wrapper each test over the same PGlite: statement names must not collide.
    client = new PreparedStatements(pg, 2).client();
  });
  afterAll(async () => {
    await pg.close();
  });

  it('answers as PGlite\'s own query does, in object and array row modes, parameters of every kind included', async () => {
    const rows = [
      ['00000000-0000-4000-8000-000000000001', 1, '10.50', ['a', 'b'], { k: [1, 2] }],
      ['00000000-0000-4000-8000-000000000002', 2, null, null, null],
    ];
    for (const r of rows) await client.query('insert into t (id, n, amount, tags, doc) values ($1, $2, $3, $4, $5)', r);
    const text = 'select id, n, amount, tags, doc, at from t where n = any($1::int[]) order by n';
    // Parsers of the caller's own win over PGlite's for their types only (an int4 one here); the other columns keep PGlite's.
    const ownInt = { parsers: { [types.INT4]: (v: string) => `#${v}` } };
    for (const options of [undefined, { rowMode: 'array' as const }, drizzleLike, { ...drizzleLike, rowMode: 'array' as const }, ownInt]) {
      const mine = await client.query(text, [[1, 2]], options);
      const theirs = await pg.query(text, [[1, 2]], options);
      expect(mine.rows).toEqual(theirs.rows);
      expect(mine.fields).toEqual(theirs.fields);
    }
    const first = (await client.query<{ amount: string; doc: unknown; at: unknown }>(text, [[1]], drizzleLike)).rows[0]!;
    expect(first).toMatchObject({ amount: '10.50', doc: { k: [1, 2] }, at: '2026-01-02 03:04:05+00' });
    expect((await client.query<{ n: unknown; at: unknown }>(text, [[1]], ownInt)).rows[0]).toMatchObject({ n: '#1', at: new Date('2026-01-02T03:04:05Z') });
  });

  it('reads every row of a large answer, text in any script, empty strings and NULLs, as PGlite\'s own query does', async () => {
    // 3,000 rows of about 200 bytes: an answer far larger than one chunk of PGlite's output buffer.
    await pg.exec(`insert into t (id, n, amount, tags, doc)
      select gen_random_uuid(), g, case when g % 3 = 0 then null else g * 1.25 end,
        array['₹ रिलायंस', '', 'ü' || g, null], jsonb_build_object('s', '日本語 ' || g, 'e', '')
      from generate_series(1, 3000) g`);
    const text = "select id, n, amount, tags, doc, at, case when n % 2 = 0 then '' end as blank, 'Ω≈ç√ 🙂' || n as mixed from t where n >= $1 order by n";
    for (const options of [drizzleLike, { rowMode: 'array' as const }]) {
      const mine = await client.query(text, [1], options);
      const theirs = await pg.query(text, [1], options);
      expect(mine.rows).toHaveLength(3000);
      expect(mine.rows).toEqual(theirs.rows);
      expect(mine.fields).toEqual(theirs.fields);
    }
    const row = (await client.query<{ tags: unknown; blank: unknown; mixed: unknown; amount: unknown }>(text, [2999])).rows;
    expect(row.map((r) => [r.tags, r.blank, r.mixed, r.amount])).toEqual([
      [['₹ रिलायंस', '', 'ü2999', null], null, 'Ω≈ç√ 🙂2999', '3748.75'],
      [['₹ रिलायंस', '', 'ü3000', null], '', 'Ω≈ç√ 🙂3000', null],
    ]);
  });

  it('throws the same error PGlite\'s own query throws, every field of it, and passes a notice over', async () => {
    const id = '00000000-0000-4000-8000-00000000000b';
    const insert = 'insert into t (id, n) values ($1, $2)';
    await client.query(insert, [id, 1]);
    const mine = (await client.query(insert, [id, 2]).catch((e: unknown) => e)) as Record<string, unknown>;
    const theirs = (await pg.query(insert, [id, 2]).catch((e: unknown) => e)) as Record<string, unknown>;
    expect(mine).toBeInstanceOf(Error);
    expect(mine.constructor).toBe(theirs.constructor);
    for (const key of ['message', 'severity', 'code', 'detail', 'schema', 'table', 'constraint', 'routine'] as const) expect(mine[key]).toEqual(theirs[key]);
    expect(mine).toMatchObject({ code: '23505', constraint: 't_pkey', table: 't', detail: `Key (id)=(${id}) already exists.` });
    // A notice before the rows (a function raising one) does not stop the answer being read.
    await pg.exec(`create or replace function noisy(x int) returns int language plpgsql as $$ begin raise notice 'counting %', x; return x + 1; end $$`);
    expect((await client.query('select noisy($1) as v', [41])).rows).toEqual([{ v: 42 }]);
  });

  it('passes everything else through to PGlite, its getters included', async () => {
    expect(client.ready).toBe(true);
    expect(client.closed).toBe(false);
    expect((await client.exec('select 1 as one'))[0]!.rows).toEqual([{ one: 1 }]);
  });

  it('counts the rows a write touched', async () => {
    await client.query(`insert into t (id, n) select gen_random_uuid(), g from generate_series(1, 3) g`);
    const r = await client.query('update t set amount = $1 where n >= $2', ['1', 2]);
    expect(r.affectedRows).toBe(2);
    expect((await pg.query('select count(*)::int as c from t where amount = 1')).rows).toEqual([{ c: 2 }]);
  });

  it('prepares again a statement whose tables changed under it, and keeps working past its cache size', async () => {
    await client.query(`insert into t (id, n) values (gen_random_uuid(), 7)`);
    expect((await client.query('select * from t where n = $1', [7])).fields.map((f) => f.name)).not.toContain('extra');
    await pg.exec(`alter table t add column extra text default 'x'`);
    const again = await client.query<{ extra: string }>('select * from t where n = $1', [7]);
    expect(again.rows[0]!.extra).toBe('x');
    // Three texts through a cache of two, twice over: each still answers its own question.
    for (let round = 0; round < 2; round++)
      for (const col of ['n', 'amount', 'extra']) expect((await client.query(`select ${col} from t where n = $1`, [7])).fields[0]!.name).toBe(col);
  });

  it('reports a failed statement with its SQLSTATE, and the statement still runs afterwards', async () => {
    const id = '00000000-0000-4000-8000-000000000009';
    const insert = 'insert into t (id, n) values ($1, $2)';
    await client.query(insert, [id, 1]);
    const err: unknown = await client.query(insert, [id, 2]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505', query: insert });
    expect(err).not.toHaveProperty('params');
    await client.query(insert, ['00000000-0000-4000-8000-00000000000a', 3]);
    expect((await pg.query('select count(*)::int as c from t')).rows).toEqual([{ c: 2 }]);
  });

  it('runs a transaction\'s statements in it, and a statement from outside after it, never inside it', async () => {
    const insert = 'insert into t (id, n) values (gen_random_uuid(), $1)';
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = client
      .transaction(async (t) => {
        await t.query(insert, [100]);
        await held;
        throw new Error('roll it back');
      })
      .catch((e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 20)); // the transaction is open and waiting
    const outside = client.query(insert, [200]);
    release();
    expect(await tx).toBe('roll it back');
    await outside;
    // The transaction's row is gone with its rollback; the outside statement's row stayed: it did not run in it.
    expect((await pg.query('select n from t order by n')).rows).toEqual([{ n: 200 }]);
  });

  it('refuses a statement once PGlite is closed, as PGlite\'s own query does', async () => {
    const other = new PGlite();
    await other.waitReady; // as openDb does before wrapping it
    const c = new PreparedStatements(other).client();
    expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await other.close();
    await expect(c.query('select 1 as one')).rejects.toThrow('PGlite is closed');
  });

  it('lets the event loop turn during a long run of statements, in and out of a transaction (timers fire, not only after the run)', async () => {
    // PGlite settles every statement in a microtask: without the turns, a timer waits for the whole run.
    const insert = 'insert into t (id, n) select gen_random_uuid(), g from generate_series(1, 200) g';
    const run = async (q: (text: string) => Promise<unknown>) => {
      const firedAfter: number[] = [];
      const t0 = performance.now();
      const timer = setTimeout(() => firedAfter.push(performance.now() - t0), 0);
      let statements = 0;
      while (performance.now() - t0 < 400) {
        await q(insert);
        statements++;
      }
      const ranFor = performance.now() - t0;
      clearTimeout(timer);
      return { firedAfter, ranFor, statements };
    };
    const outside = await run((text) => client.query(text));
    const inside = await client.transaction((tx) => run((text) => tx.query(text)));
    for (const r of [outside, inside]) {
      expect(r.statements).toBeGreaterThan(5);
      expect(r.firedAfter).toHaveLength(1);
      // Fired while the run went on (a turn comes after ~20 ms of statements), not once it was over.
      expect(r.firedAfter[0]).toBeLessThan(r.ranFor - 100);
    }
  });
});

describe('bindExecuteSync', () => {
  it('writes the bytes PGlite\'s own serializer writes for Bind, Execute and Sync', () => {
    const cases: [string, (string | null)[]][] = [
      ['tg_1', []],
      ['tg_22', ['1', null, '', 'RELIANCE']],
      ['tg_333', ['₹ रिलायंस 🙂', null, null, JSON.stringify([{ q: '10.00000000', s: 'Ω≈ç√' }]), 'x'.repeat(70_000)]],
    ];
    for (const [name, values] of cases) {
      const theirs = new Uint8Array(
        [protocol.serialize.bind({ statement: name, values }), protocol.serialize.execute({}), protocol.serialize.sync()].flatMap((b) => [...new Uint8Array(b)]),
      );
      expect(Buffer.from(bindExecuteSync(name, values)).equals(Buffer.from(theirs))).toBe(true);
    }
  });
});
