/**
 * analyzeGrown (src/db/table-stats.ts): a table is analyzed once its heap has `minPages` pages and twice
 * the pages it had at its last analyze, and not again until it doubles once more; and an ANALYZE replaces
 * a plan a prepared statement kept from when its table was small. Both modes (PGlite runs no autovacuum).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { explainExecute } from './support/plans.js';
import { rowsOf } from '../src/db/batch-sql.js';
import { analyzeGrown, GROWING_TABLES, GROWTH_STATISTICS_TARGET } from '../src/db/table-stats.js';
import type { Db, Tx } from '../src/db/client.js';

describe.each(modes())('tables analyzed as they grow (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '600000', BASKET_SWEEP_MS: '600000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  const db = () => server.app.db.db;
  const one = async <T>(q: Db | Tx, text: string) => rowsOf<T>(await q.execute(sql.raw(text)))[0];
  const pages = async (t: string) => Number((await one<{ n: string | number }>(db(), `select pg_relation_size('${t}') / current_setting('block_size')::int as n`)).n);
  const relpages = async (t: string) => Number((await one<{ n: string | number }>(db(), `select relpages as n from pg_class where relname = '${t}'`)).n);
  /** Add rows until the heap has at least `target` pages. */
  const growTo = async (t: string, target: number) => {
    while ((await pages(t)) < target) await db().execute(sql.raw(`insert into ${t} (k) select gen_random_uuid() from generate_series(1, 200)`));
  };

  it('analyzes at the threshold, then only after the table doubles', async () => {
    const t = `stats_probe_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await db().execute(sql.raw(`create table ${t} (k uuid primary key, pad text not null default repeat('x', 200))`));
    try {
      const run = () => analyzeGrown(db(), { tables: [t], minPages: 8 });
      await growTo(t, 4);
      expect(await run()).toEqual([]); // under minPages, never analyzed
      expect(Number((await one<{ n: string }>(db(), `select reltuples as n from pg_class where relname = '${t}'`)).n)).toBeLessThan(0);
      await growTo(t, 8);
      expect(await run()).toEqual([t]);
      const at = await relpages(t);
      expect(at).toBe(await pages(t));
      expect(await run()).toEqual([]); // nothing grew
      await growTo(t, 2 * at - 1);
      expect(await run()).toEqual([]); // not yet twice
      await growTo(t, 2 * at);
      expect(await run()).toEqual([t]);
      expect(await relpages(t)).toBeGreaterThanOrEqual(2 * at);
    } finally {
      await db().execute(sql.raw(`drop table ${t}`));
    }
  });

  it('an ANALYZE replaces the plan a prepared statement kept from when its table was small', async () => {
    const t = `stats_plan_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    // One transaction: one connection, so the same session-level prepared statement throughout.
    await db().transaction(async (tx) => {
      await tx.execute(sql.raw(`create table ${t} (k uuid primary key, v int not null default 0)`));
      // Analyzed at 100 rows (as autovacuum's first round may find a new table), then planned.
      await tx.execute(sql.raw(`insert into ${t} (k) select gen_random_uuid() from generate_series(1, 100)`));
      await tx.execute(sql.raw(`analyze ${t}`));
      await tx.execute(sql.raw('set local plan_cache_mode = force_generic_plan'));
      await tx.execute(sql.raw(`prepare ${t}_q(uuid[]) as select v from ${t} where k = any($1)`));
      const plan = () => explainExecute(tx, `${t}_q`, "'{}'");
      const small = await plan();
      // Both plan a table of 100 rows as a scan of every row.
      expect(small).toMatch(/Seq Scan/);
      await tx.execute(sql.raw(`insert into ${t} (k) select gen_random_uuid() from generate_series(1, 20000)`));
      expect(await plan()).toBe(small); // kept as the table grew
      expect(await analyzeGrown(tx, { tables: [t] })).toEqual([t]);
      // The job's statistics target does not outlive its ANALYZE in the caller's transaction.
      expect(rowsOf<{ default_statistics_target: string }>(await tx.execute(sql`show default_statistics_target`))[0]).toEqual({ default_statistics_target: '100' });
      expect(await plan()).toMatch(/Index Scan using|Bitmap Index Scan on/);
      await tx.execute(sql.raw(`deallocate ${t}_q`));
      await tx.execute(sql.raw(`drop table ${t}`));
    });
  });

  it('samples 300 × GROWTH_STATISTICS_TARGET rows unless told otherwise, and leaves the session as it was', async () => {
    const t = `stats_target_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await db().execute(sql.raw(`create table ${t} (k uuid primary key, v int not null)`));
    try {
      await db().execute(sql.raw(`insert into ${t} (k, v) select gen_random_uuid(), g from generate_series(1, 20000) g`));
      const bounds = async () => {
        const r = await one<{ n: string | number | null }>(db(), `select array_length(histogram_bounds::text::int[], 1) as n from pg_stats where tablename = '${t}' and attname = 'v'`);
        return Number(r.n);
      };
      const setting = async () => (await one<{ default_statistics_target: string }>(db(), 'show default_statistics_target')).default_statistics_target;
      const before = await setting();
      expect(GROWTH_STATISTICS_TARGET).toBe(10);
      expect(await analyzeGrown(db(), { tables: [t], minPages: 1 })).toEqual([t]);
      // A histogram of 10 buckets (11 bounds) over 20,000 distinct values, against 101 at the server's 100.
      expect(await bounds()).toBe(11);
      expect(await setting()).toBe(before);
      // growth 1: due again at the same size.
      expect(await analyzeGrown(db(), { tables: [t], minPages: 1, growth: 1, statisticsTarget: null })).toEqual([t]);
      expect(await bounds()).toBe(101);
      await expect(analyzeGrown(db(), { tables: [t], minPages: 1, growth: 1, statisticsTarget: 0 })).rejects.toThrow(RangeError);
    } finally {
      await db().execute(sql.raw(`drop table ${t}`));
    }
  });

  it('names only tables of the schema', async () => {
    const names = rowsOf<{ relname: string }>(await db().execute(sql`select relname from pg_class where relkind = 'r' and relnamespace = current_schema()::regnamespace`)).map((r) => r.relname);
    for (const t of GROWING_TABLES) expect(names).toContain(t);
  });
});
