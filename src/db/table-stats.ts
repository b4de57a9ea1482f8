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
 * The statistics target of {@link analyzeGrown}'s ANALYZEs, in both modes: 3,000 sampled rows (300 ×
 * target, read from as many pages) instead of the 30,000 of Postgres's default of 100. What the job is
 * for needs little: row counts come from the table's size either way, and the plans it corrects are
 * keyed lookups. An ANALYZE at the default reads every page of a table of up to 30,000 pages:
 * - embedded, PGlite runs it in the server's one thread, so its length is a stall of everything else:
 *   100-400 ms each once the order loop's tables had tens of thousands of rows (bench:orders phase 6 after
 *   phase 5's 20,000 orders), and an outbox of 21,000 pages took 134-390 ms alone at 100, 22 ms at 10;
 * - scaled, it is Postgres work while the tables grow fast: 4.2-4.9 s of statement time in the 60 s
 *   phase 1 of bench:orders (0.9-1.1 s at 10; the CPU per order moved less than the noise between runs),
 *   the same outbox 267-303 ms at 100, 11-30 ms at 10.
 * PGlite runs no autovacuum, so these are the statistics the embedded mode keeps. With Postgres,
 * autovacuum re-analyzes at the server's target once a table has changed by a tenth since (it looks
 * once a minute), which a table growing fast enough to double here does within its next round; a table
 * that autovacuum keeps analyzed does not double between two of its rounds, so this job fires only on
 * such growth.
 */
export const GROWTH_STATISTICS_TARGET = 10;

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
 *
 * `statisticsTarget`: {@link GROWTH_STATISTICS_TARGET} unless given; `null` for the server's own.
 */
export async function analyzeGrown(
  db: Db | Tx,
  opts: { tables?: readonly string[]; minPages?: number; growth?: number; statisticsTarget?: number | null } = {},
): Promise<string[]> {
  const tables = opts.tables ?? GROWING_TABLES;
  const minPages = opts.minPages ?? 16;
  const growth = opts.growth ?? 2;
  const target = opts.statisticsTarget === undefined ? GROWTH_STATISTICS_TARGET : opts.statisticsTarget;
  if (target !== null && !(Number.isInteger(target) && target >= 1 && target <= 10_000)) throw new RangeError(`statisticsTarget ${target}: an integer from 1 to 10000`);
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
  for (const r of due) {
    if (target === null) await db.execute(sql.raw(`analyze ${r.target}`));
    // Each table in its own transaction, so other statements run between them (PGlite takes one at a time).
    else
      await db.transaction(async (tx) => {
        const [{ prev }] = rowsOf<{ prev: string }>(await tx.execute(sql`select current_setting('default_statistics_target') as prev`));
        await tx.execute(sql.raw(`set local default_statistics_target = ${target}`));
        await tx.execute(sql.raw(`analyze ${r.target}`));
        // Put back: in a caller's transaction this one is a savepoint, and a SET LOCAL outlives its release.
        await tx.execute(sql`select set_config('default_statistics_target', ${prev}, true)`);
      });
  }
  return due.map((r) => r.relname);
}
