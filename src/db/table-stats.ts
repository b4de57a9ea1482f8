import { sql } from 'drizzle-orm';
import type { Db, Tx } from './client.js';
import { rowsOf } from './batch-sql.js';

/**
 * The tables the order loop grows from empty: their row counts change by orders of magnitude in a new
 * deployment's first minutes.
 */
export const GROWING_TABLES = [
  'orders',
  'holds',
  'fills',
  'ledger_entries',
  'positions',
  'outbox_events',
  'outbox_pending',
  'paper_orders',
  'paper_fills',
  'notifications',
  'audit_log',
  'basket_run_orders',
  'pooled_children',
] as const;

/**
 * ANALYZE each of `tables` whose heap has grown to at least `minPages` pages and to `growth` times the
 * pages it had at its last analyze (or was never analyzed). Sizes come from `pg_relation_size`, exact
 * and current in both modes, not from the statistics collector. Only tables the connecting role owns (or
 * is a member of the owner of), since only the owner may analyze: a deployment whose migrations run as
 * another role gets nothing here rather than a warning every 10 s. Returns the tables analyzed.
 *
 * Why: a prepared statement's plan is costed with the table as it is when it is planned and then kept
 * until the table's statistics change. Planned on a fresh database, the order loop's keyed lookups over
 * `orders`, `holds`, … were sequential scans of the whole table (right for 100 rows), still used at
 * 20,000 (bench:orders phase 1: the placement's replay check read 300 pages to find nothing). Autovacuum
 * re-analyzes eventually, but only at its next round (a minute by default) and never in the embedded
 * mode (PGlite runs no autovacuum). An ANALYZE invalidates every session's plans over the table, so the
 * next execution plans for its real size. Growth by a factor means a table is analyzed a logarithmic
 * number of times as it grows; a table in steady state is left to autovacuum.
 */
export async function analyzeGrown(db: Db | Tx, opts: { tables?: readonly string[]; minPages?: number; growth?: number } = {}): Promise<string[]> {
  const tables = opts.tables ?? GROWING_TABLES;
  const minPages = opts.minPages ?? 16;
  const growth = opts.growth ?? 2;
  // With each table its ANALYZE target: the quoted name and every column but the json ones (event
  // payloads, snapshots: sampling and detoasting those was most of an outbox analyze, 272 ms of a pooled
  // close's 350 ms of analyzes, and no plan filters on them). Names come from the catalog, quoted by Postgres.
  const rows = rowsOf<{ relname: string; analyzed: number | string; relpages: number | string; pages: number | string; target: string }>(
    await db.execute(sql`select c.relname, c.reltuples as analyzed, c.relpages, pg_relation_size(c.oid) / current_setting('block_size')::int as pages,
        quote_ident(c.relname) || coalesce(' (' || (select string_agg(quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a
          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.atttypid not in ('json'::regtype, 'jsonb'::regtype)) || ')', '') as target
      from pg_class c
      where c.relkind = 'r' and c.relnamespace = current_schema()::regnamespace and c.relname = any(${`{${tables.join(',')}}`}::text[])
        and pg_has_role(c.relowner, 'USAGE')
      order by c.relname`),
  );
  const due = rows.filter((r) => {
    const pages = Number(r.pages);
    // reltuples -1: never analyzed (nor vacuumed).
    return pages >= minPages && (Number(r.analyzed) < 0 || pages >= growth * Math.max(1, Number(r.relpages)));
  });
  for (const r of due) await db.execute(sql.raw(`analyze ${r.target}`));
  return due.map((r) => r.relname);
}
