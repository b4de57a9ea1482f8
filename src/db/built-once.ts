const built = new WeakMap<object, Map<string, unknown>>();

/**
 * A query built once per database handle and kept (drizzle's `.prepare()` with placeholders): the hot
 * reads skip drizzle's query building (a tenth of the api's CPU on a dashboard read, profiled), and the
 * text is the same every time, so Postgres keeps its prepared statement per connection.
 */
export function builtOnce<T>(db: object, key: string, build: () => T): T {
  let byKey = built.get(db);
  if (!byKey) built.set(db, (byKey = new Map()));
  let q = byKey.get(key) as T | undefined;
  if (q === undefined) byKey.set(key, (q = build()));
  return q;
}
