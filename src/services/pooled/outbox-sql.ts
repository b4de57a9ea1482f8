/**
 * Outbox payloads built by Postgres from the rows it has just written, instead of shipped from Node: an
 * order snapshot (≈ 0.85 KB) or a fill snapshot (≈ 0.35 KB) is what most of a child's event bytes are,
 * and the same values are already in the orders and fills rows of the transaction. The snapshot keeps
 * exactly the shape `orderSnapshot` / `fillSnapshot` (orders/order.snapshot.ts) give a row as the
 * driver reads it: every column under its JS name, numerics as Postgres prints them (text), timestamps
 * as `Date.toISOString()` writes them (UTC, milliseconds, `Z`), the rest as themselves. Built from the
 * table's drizzle definition, so a column added later is in both.
 *
 * The events published from Node keep their JS payloads; test/pooled.batch-fill.test.ts checks that the
 * stored payloads equal them, key for key and value for value.
 */
import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/** A timestamptz as `Date.toISOString()` writes it (both truncate below the millisecond). */
export const isoSql = (expr: SQL): SQL => sql`to_char(${expr} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * `jsonb_build_object(...)` of the row `alias` of `table`, shaped as its JS snapshot; `over` gives some
 * keys' values as SQL instead (values the statement has as text, as Node formatted them).
 */
export function rowSnapshotSql(table: PgTable, alias: string, over: Record<string, SQL> = {}): SQL {
  const parts: SQL[] = [];
  for (const [key, col] of Object.entries(getTableColumns(table))) {
    if (!/^[A-Za-z0-9_]+$/.test(key) || !/^[a-z0-9_]+$/.test(col.name)) throw new Error(`unexpected column ${key}`);
    const ref = sql.raw(`${alias}.${col.name}`);
    let value = over[key];
    if (!value) {
      if (col.dataType === 'date') {
        if (!(col as unknown as { withTimezone?: boolean }).withTimezone) throw new Error(`${key}: only timestamptz columns are snapshotted in SQL`);
        value = isoSql(ref);
      } else if (col.columnType === 'PgNumeric') value = sql`${ref}::text`;
      else if (['PgUUID', 'PgText', 'PgEnumColumn', 'PgInteger', 'PgBoolean'].includes(col.columnType)) value = ref;
      else throw new Error(`${key}: column type ${col.columnType} is not snapshotted in SQL`);
    }
    parts.push(sql`${sql.raw(`'${key}'`)}, ${value}`);
  }
  return sql`jsonb_build_object(${sql.join(parts, sql`, `)})`;
}
