import { sql, type SQL } from 'drizzle-orm';

/**
 * Parameters of set-based statements that keep ONE statement text whatever the batch size: a list of
 * ids as one `uuid[]` parameter and many rows as one `jsonb` parameter (read with
 * `jsonb_to_recordset`). A text that does not change with the batch is parsed once per connection
 * (postgres.js prepares it) and its plan can be reused, where `in ($1, …, $n)` and multi-row `values`
 * made a new statement for every batch size: Postgres spent about a third of its time per order
 * parsing and planning those, and drizzle a tenth of the worker's building them.
 *
 * Both are passed as text and cast in SQL, so postgres.js and PGlite treat them alike.
 */

/** `$1::text::uuid[]`: the ids (uuids, as the database gave them) as one array parameter. */
export function uuidArray(ids: readonly string[]): SQL {
  return sql`${`{${ids.join(',')}}`}::text::uuid[]`;
}

/** `$1::text::jsonb`: rows for `jsonb_to_recordset(…) as v(col type, …)`, as one parameter. */
export function jsonRows(rows: readonly object[]): SQL {
  return sql`${JSON.stringify(rows)}::text::jsonb`;
}

/** Rows of a raw statement, whichever driver ran it (postgres.js: an array; PGlite: `{ rows }`). */
export function rowsOf<T>(res: unknown): T[] {
  return (Array.isArray(res) ? res : ((res as { rows?: unknown[] }).rows ?? [])) as T[];
}
