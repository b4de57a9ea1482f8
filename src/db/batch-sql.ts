import { getTableColumns, getTableName, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * Parameters of set-based statements that keep ONE statement text whatever the batch size: a list of
 * ids as one `uuid[]` parameter, and many rows as one `jsonb` parameter (read with
 * `jsonb_to_recordset`) or as one array parameter per column ({@link unnestRows}). A text that does
 * not change with the batch is parsed once per connection (postgres.js prepares it) and its plan can
 * be reused, where `in ($1, …, $n)` and multi-row `values` made a new statement for every batch size:
 * Postgres spent about a third of its time per order parsing and planning those, and drizzle a tenth of
 * the worker's building them.
 *
 * Each travels as one text value, so postgres.js and PGlite treat them alike (an array in its `{…}` form,
 * a jsonb one through `::text`: a string bound to a jsonb parameter would be encoded again as a JSON
 * string).
 *
 * Which one: the pooled close's statements (hundreds to thousands of rows) read typed arrays, which cut
 * their time in Postgres by 17 % (stop 33). The order loop's statements (a few to a few dozen rows) stay
 * on jsonb: converted to arrays in stop 33, phase 1 of `bench:orders` did not change (325–332 against
 * 282–336 filled/s, Postgres 1.47–1.60 against 1.45–1.70 CPU ms per order) and the p99 at 100 orders/s
 * was higher in 5 of 6 alternated pairs (141–218 against 121–206 ms), so that change was not kept.
 */

/**
 * `$1::uuid[]`: the ids as one parameter of the array type, parsed once when the statement is bound.
 *
 * Not `$1::text::uuid[]`: under a generic plan (a prepared statement after its fifth run, or
 * {@link genericPlans}) that cast is not folded, and where the list is a FILTER rather than an index
 * condition (a sequential scan of a small table, the inner side of a join) Postgres casts the whole text
 * again for every row it tests: 2,000 ids against 20,000 rows took 23.4 s that way and 0.13 s typed
 * (test/db.array-params.test.ts shows the plans). Stop 19 blamed this typed form for a slower pooled
 * close; the cause was a jsonb id list the planner re-evaluated per row (batch-fill.ts `idIn`).
 */
export function uuidArray(ids: readonly string[]): SQL {
  return sql`${`{${ids.join(',')}}`}::uuid[]`;
}

/** `$1::bigint[]`: integer ids as one array parameter (see {@link uuidArray}). */
export function bigintArray(ids: readonly (number | string)[]): SQL {
  return sql`${`{${ids.join(',')}}`}::bigint[]`;
}

/** A value of an array literal's element: text, a number, a boolean, a Date (as ISO 8601), or null (NULL). */
export type ArrayElement = string | number | boolean | Date | null | undefined;

function notAnElement(v: unknown): never {
  throw new Error(`arrayLiteral: an object is not an array element (${String(JSON.stringify(v)).slice(0, 60)}); a jsonb column travels as JSON`);
}

/**
 * Postgres's array literal of `values` (`{"a","b",NULL}`), every element double-quoted with `\` and `"`
 * escaped, so any text (empty, with commas, braces, quotes or the word NULL) reads back as itself.
 */
export function arrayLiteral(values: readonly ArrayElement[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else {
      // Anything else (a Decimal, a plain object) is refused rather than written as whatever its
      // toString gives: unnestRows's value functions return `unknown`.
      const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : v instanceof Date ? v.toISOString() : notAnElement(v);
      out += `"${/["\\]/.test(s) ? s.replace(/["\\]/g, '\\$&') : s}"`;
    }
  }
  return out + '}';
}

/**
 * `rows from (unnest($1::type1[]), unnest($2::type2[]), …) with ordinality as <alias>(col1, col2, …, i)`:
 * many rows as ONE array parameter per column, for a FROM clause (`i` numbers the rows from 1, in `rows`'
 * order). A `jsonb` column travels as one JSON array read with `jsonb_array_elements` (its values as
 * JSON, not escaped again into an array literal). The statement text does not change with the batch
 * size, as with {@link jsonRows}, and Postgres reads typed arrays for less than a jsonb document of the
 * same rows: on 20,000 ledger lines (8 columns, no foreign keys) an insert from the arrays took
 * 217–250 ms against 385 ms from `jsonb_to_recordset`, and the rows carry no key names, so fewer bytes
 * go over the socket.
 */
export function unnestRows<R>(rows: readonly R[], columns: Record<string, readonly [type: string, value: (row: R) => unknown]>, alias = 'v'): SQL {
  const names = Object.keys(columns);
  if (names.length === 0) throw new Error('unnestRows: no columns');
  for (const n of [alias, ...names]) if (!/^[a-z_][a-z0-9_]*$/.test(n)) throw new Error(`unnestRows: ${n} is not a plain identifier`);
  const fns = names.map((n, k) => {
    const [type, value] = columns[n];
    if (!/^[a-z][a-z0-9_ ]*$/.test(type)) throw new Error(`unnestRows: ${type} is not a plain type name`);
    const sep = k > 0 ? sql`, ` : sql``;
    if (type === 'jsonb') return sql`${sep}jsonb_array_elements(${JSON.stringify(rows.map(value))}::text::jsonb)`;
    return sql`${sep}unnest(${arrayLiteral(rows.map(value as (row: R) => ArrayElement))}::${sql.raw(type)}[])`;
  });
  return sql`rows from (${sql.join(fns)}) with ordinality as ${sql.raw(alias)}(${sql.raw(names.join(', '))}, i)`;
}

/** `$1::text::jsonb`: rows for `jsonb_to_recordset(…) as v(col type, …)`, as one parameter. */
export function jsonRows(rows: readonly object[]): SQL {
  return sql`${JSON.stringify(rows)}::text::jsonb`;
}

/**
 * Every column of `table` for the `returning` (or select list) of a raw statement, and its rows mapped
 * back to the table's row type the way drizzle maps its own queries' (each column's mapFromDriverValue;
 * numerics travel as text, so PGlite and postgres.js agree). For a statement drizzle cannot build
 * cheaply, such as a multi-row insert from one jsonb parameter.
 */
export function tableRows<T extends PgTable>(table: T): { list: SQL; map(result: unknown): T['$inferSelect'][] } {
  const columns = Object.entries(getTableColumns(table));
  const list = sql.raw(columns.map(([, c]) => (c.getSQLType().startsWith('numeric') ? `"${c.name}"::text as "${c.name}"` : `"${c.name}"`)).join(', '));
  return {
    list,
    map: (result) =>
      rowsOf<Record<string, unknown>>(result).map((raw) => {
        const row: Record<string, unknown> = {};
        for (const [key, c] of columns) {
          const v = raw[c.name];
          row[key] = v === null || v === undefined ? null : c.mapFromDriverValue(v);
        }
        return row as T['$inferSelect'];
      }),
  };
}

/**
 * `select <every column of table> from <table> <rest>` as a raw statement, its rows mapped as drizzle maps
 * the table's (see {@link tableRows}). For the order loop's batch reads: drizzle spent 70–180 µs building
 * each `select().from(table)…` on the 2-core machine, several per batch; this builds `rest` only. Lazy,
 * as drizzle's builders are (see {@link lazyMap}).
 */
export function selectAll<T extends PgTable>(table: T): (db: { execute(q: SQL): PromiseLike<unknown> }, rest: SQL) => PromiseLike<T['$inferSelect'][]> {
  const rows = tableRows(table);
  const head = sql`select ${rows.list} from ${sql.raw(`"${getTableName(table)}"`)} `;
  return (db, rest) => lazyMap(db.execute(sql`${head}${rest}`), rows.map);
}

/**
 * `query`'s result through `map`, still unsent until it is awaited. Drizzle's statements go to the
 * connection when first awaited, so in `Promise.all([tx.execute(genericPlans), …])` the settings go
 * first and the batch's reads are planned under them; a `.then` taken while building the list would send
 * its statement before them.
 */
export function lazyMap<R, T>(query: PromiseLike<R>, map: (r: R) => T): PromiseLike<T> {
  return {
    then: (onfulfilled, onrejected) => query.then(map).then(onfulfilled, onrejected),
  };
}

/** Rows of a raw statement, whichever driver ran it (postgres.js: an array; PGlite: `{ rows }`). */
export function rowsOf<T>(res: unknown): T[] {
  return (Array.isArray(res) ? res : ((res as { rows?: unknown[] }).rows ?? [])) as T[];
}

/**
 * `col in ('A', 'B')` with the values written into the statement text, for a FIXED set of enum values
 * (statuses) that a partial index's predicate names. Drizzle's `inArray` sends them as parameters, and a
 * prepared statement's generic plan cannot prove `status in ($1, $2)` implies the index's
 * `status = any('{OPEN,PARTIALLY_FILLED}')`: it then scans the whole table. The paper exchange's matching
 * pass (every instrument, every tick) read every paper order ever placed that way. Only upper-case enum
 * words are accepted, so nothing from a user reaches the text.
 */
export function inLiterals(column: SQLWrapper, values: readonly string[]): SQL {
  for (const v of values) if (!/^[A-Z][A-Z_]*$/.test(v)) throw new Error(`inLiterals: ${v} is not an enum word`);
  return sql`${column} in (${sql.raw(values.map((v) => `'${v}'`).join(', '))})`;
}

/**
 * For the first pipeline of a batch transaction whose statements take their rows as one jsonb or array
 * parameter and touch rows by key (the order loop's placement, submit and acknowledgement batches).
 * Local to the transaction:
 *
 * - `plan_cache_mode = force_generic_plan`. Postgres otherwise re-plans most of them on every execution
 *   (a custom plan), although a custom plan cannot estimate better there: a `jsonb_to_recordset` is
 *   estimated at 100 rows whatever its parameter (measured on bench:orders: 80 of 89 acknowledgement
 *   batches re-planned each of their eight statements).
 * - `enable_seqscan`, `enable_hashjoin`, `enable_mergejoin` off: a generic plan is costed ONCE, with the
 *   tables as they are then, and kept. Built while `orders` was small (a fresh database), the batch's
 *   `update orders … from jsonb_to_recordset(…) where o.id = v.id` was a hash join over a sequential scan
 *   of every order, and stayed so as the table grew (bench:orders phase 1: 7,430 orders read to update 13,
 *   7.7 ms a batch; the same for `holds`). With these off, the only plan is a nested loop of index
 *   lookups by key, whatever the table's size when it was planned (test/db.array-params.test.ts). A
 *   batch's statements touch a few rows by key each, so nothing in them wants a scan or a hash.
 */
export const genericPlans: SQL = sql.raw(
  "select set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)",
);
