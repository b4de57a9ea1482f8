/**
 * Rows as one array parameter per column (src/db/batch-sql.ts `unnestRows`, `arrayLiteral`): what goes in
 * comes back out, through each driver (PGlite's prepared statements, postgres.js), in order: text that an
 * array literal would misread (quotes, backslashes, commas, braces, the word NULL, the empty string,
 * spaces at the ends), nulls, numerics beyond a float's precision, timestamps, and jsonb values. And
 * the outbox insert's shared snapshots (pooled/batch-fill.ts): an uncorrelated `(select $n::text::jsonb)`
 * is an init plan, so the parameter is parsed once per statement, not once per row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { explainPrepared } from './support/plans.js';
import { arrayLiteral, rowsOf, unnestRows } from '../src/db/batch-sql.js';

describe('arrayLiteral', () => {
  it('quotes every element and escapes quotes and backslashes; null and undefined are NULL', () => {
    expect(arrayLiteral([])).toBe('{}');
    expect(arrayLiteral(['a', 'NULL', null, undefined, '', 'x"y\\z', 1.5])).toBe('{"a","NULL",NULL,NULL,"","x\\"y\\\\z","1.5"}');
    expect(arrayLiteral([true, false, new Date(Date.UTC(2026, 11, 2, 1, 2, 3, 4))])).toBe('{"true","false","2026-12-02T01:02:03.004Z"}');
    // An object would be written as its toString ("[object Object]", or a Decimal's exponent form): refused.
    expect(() => arrayLiteral([{ a: 1 } as unknown as string])).toThrow(/not an array element/);
  });
});

const TRICKY = ['plain', '', ' both ends ', 'NULL', 'null', 'a,b', '{braces}', 'quote " inside', 'back\\slash', '\\"', 'multi\nline', 'ünïcødé ₹', "it's"];

describe.each(modes())('unnestRows through the driver (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '600000', BASKET_SWEEP_MS: '600000' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('returns every row as it went in, in order, whatever the text', async () => {
    const rows = TRICKY.map((t, k) => ({
      id: randomUUID(),
      t,
      n: k % 3 === 0 ? null : `${k}12345678901234567890.12345678`,
      at: k % 4 === 0 ? null : new Date(Date.UTC(2026, 0, 1 + k, 9, 15, 0, 123)).toISOString(),
      j: { k, t, nested: { list: [t, null, 1.25] } },
    }));
    const out = rowsOf<{ id: string; t: string; n: string | null; at: string | null; j: unknown; i: string | number }>(
      await server.app.db.db.execute(sql`select v.id::text as id, v.t, v.n::text as n, to_json(v.at)#>>'{}' as at, v.j::text as j, v.i
        from ${unnestRows(rows, { id: ['uuid', (r) => r.id], t: ['text', (r) => r.t], n: ['numeric', (r) => r.n], at: ['timestamptz', (r) => r.at], j: ['jsonb', (r) => r.j] })}
        order by v.i`),
    );
    expect(out).toHaveLength(rows.length);
    out.forEach((o, k) => {
      expect(Number(o.i)).toBe(k + 1);
      expect(o.id).toBe(rows[k].id);
      expect(o.t).toBe(rows[k].t);
      expect(o.n).toBe(rows[k].n);
      expect(o.at === null ? null : new Date(o.at).toISOString()).toBe(rows[k].at);
      expect(JSON.parse(o.j as string)).toEqual(rows[k].j);
    });
  });

  it('no rows: an empty set, not an error', async () => {
    const out = rowsOf(await server.app.db.db.execute(sql`select v.t from ${unnestRows([] as string[], { t: ['text', (r) => r] })}`));
    expect(out).toEqual([]);
  });

  it('refuses a column name or type that is not a plain word (they are written into the statement)', () => {
    expect(() => unnestRows([1], { 'x; drop table orders': ['int', (r) => r] })).toThrow(/plain identifier/);
    expect(() => unnestRows([1], { x: ['int[]); drop', (r) => r] })).toThrow(/plain type/);
  });

  it('the shared snapshots parameter is an init plan under a generic plan: parsed once, not per row', async () => {
    const dialect = new PgDialect();
    const snapshots = JSON.stringify([{ a: 1 }, { b: 2 }]);
    const q = dialect.sqlToQuery(
      sql`select v.k, (select ${snapshots}::text::jsonb) -> v.k as o from ${unnestRows([0, 1, 0], { k: ['int', (r) => r] })}`,
    );
    const literals = q.params.map((p) => `'${String(p).replaceAll("'", "''")}'`).join(', ');
    const plan = await server.app.db.db.transaction(async (tx) => {
      await tx.execute(sql.raw('set local plan_cache_mode = force_generic_plan'));
      return explainPrepared(tx, q.sql, literals);
    });
    expect(plan).toMatch(/InitPlan/);
    const out = rowsOf<{ k: number; o: unknown }>(await server.app.db.db.execute(sql.raw(`${q.sql.replace(/\$(\d+)/g, (_, n) => `'${String(q.params[Number(n) - 1]).replaceAll("'", "''")}'`)}`)));
    expect(out.map((r) => (typeof r.o === 'string' ? JSON.parse(r.o) : r.o))).toEqual([{ a: 1 }, { b: 2 }, { a: 1 }]);
  });
});
