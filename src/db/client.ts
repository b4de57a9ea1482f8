import { mkdirSync } from 'node:fs';
import { PACKAGE_ROOT } from '../lib/package-root.js';
import path from 'node:path';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema/index.js';
import { isFreshDataDir, pgliteTemplate, saveMigratedTemplate } from './pglite-template.js';

export { schema };

/** The drizzle database, whichever driver is behind it. Services receive it as a port. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle: same API as Db. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Either; services that may run inside a caller's transaction accept this. */
export type DbOrTx = Db | Tx;

export interface DbHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * PGlite only, on a cluster created by this open and not yet from a migrated template: once `migrate`
   * has run, save the cluster as the migrated template (src/db/pglite-template.ts).
   */
  saveMigratedTemplate?(): Promise<void>;
  /** Postgres only: run `fn` holding a session-level advisory lock (on a connection reserved for it). */
  withAdvisoryLock?<T>(key: number, fn: () => Promise<T>): Promise<T>;
}

export const MIGRATIONS_FOLDER = path.join(PACKAGE_ROOT, 'drizzle');

/** Connect to Postgres (postgres.js) when a URL is given, else to PGlite files under `dataDir`. */
export async function openDb(opts: { url?: string; dataDir?: string; poolSize?: number; onStatement?: () => void }): Promise<DbHandle> {
  if (opts.url) {
    const { default: postgres } = await import('postgres');
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { url, path: socketPath } = unixSocket(opts.url);
    const sql = postgres(url, {
      max: opts.poolSize ?? 10,
      onnotice: () => {},
      connection: { application_name: 'tradegraph' },
      ...(socketPath ? { path: socketPath } : {}),
    });
    // Every statement of this process goes through the counting wrapper, the pings and locks below too.
    const counted = preparing(sql, opts.onStatement);
    const db = drizzle(counted, { schema }) as unknown as Db;
    return {
      db,
      kind: 'postgres',
      ping: async () => {
        await counted`select 1`;
      },
      close: () => sql.end({ timeout: 5 }),
      withAdvisoryLock: async (key, fn) => {
        const conn = preparing(await sql.reserve(), opts.onStatement);
        try {
          await conn`select pg_advisory_lock(${key})`;
          try {
            return await fn();
          } finally {
            await conn`select pg_advisory_unlock(${key})`;
          }
        } finally {
          conn.release();
        }
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const memory = opts.dataDir === undefined || opts.dataDir === 'memory://';
  const fresh = memory || isFreshDataDir(opts.dataDir!);
  // A fresh cluster starts from a prebuilt template when there is one (initdb in WASM takes seconds; the
  // migrations, a few more): the migrated one for this code's migrations, else the empty cluster.
  const template = fresh ? await pgliteTemplate() : null;
  const options = template ? { loadDataDir: template.blob } : {};
  let client;
  if (memory) {
    client = new PGlite(options);
  } else {
    mkdirSync(opts.dataDir!, { recursive: true });
    client = new PGlite(opts.dataDir, options);
  }
  await client.waitReady;
  // Every statement prepared once and then only bound and executed (db/pglite-statements.ts).
  const { PreparedStatements } = await import('./pglite-statements.js');
  const db = drizzle(new PreparedStatements(client).client(), { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    ping: async () => {
      await client.query('select 1');
    },
    close: () => client.close(),
    // Saved once, by the first fresh cluster that `migrate` completes; the ones after load it.
    ...(fresh && !template?.migrated ? { saveMigratedTemplate: () => saveMigratedTemplate(() => client.dumpDataDir('none')) } : {}),
  };
}

/**
 * The postgres.js client as drizzle sees it, with every statement sent as a prepared statement
 * (postgres.js's own default, which drizzle turns off for all but `.prepare()`d queries): a text is then
 * parsed once per connection and its plan can be cached, instead of Parse + Describe + plan on every
 * execution. Measured on bench:orders, parsing and planning were about a third of Postgres's CPU per
 * order. Transactions and savepoints get the same wrapper. Statement texts that vary (an `in` list per
 * size) are prepared per size; postgres.js recycles connections (max_lifetime), which bounds them.
 *
 * `onStatement` counts the statements sent here (`db_statements_total`). It was postgres.js's `debug`
 * hook, which also makes every query capture a stack trace (`new Error()`: 5 % of the worker's CPU in
 * bench:orders) and leaves query parameters enumerable on errors.
 */
export function preparing<T extends object>(client: T, onStatement?: () => void): T {
  const count = onStatement ?? (() => {});
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'unsafe') {
        return (query: string, args?: unknown[], options?: Record<string, unknown>) => {
          count();
          return (value as (q: string, a?: unknown[], o?: Record<string, unknown>) => unknown).call(target, query, args ?? [], { ...options, prepare: true });
        };
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...a: unknown[]) => {
          // Its opening and its ending (commit or rollback, release or rollback to) are statements too.
          count();
          count();
          const fn = a[a.length - 1] as (c: object) => unknown;
          return (value as (...x: unknown[]) => unknown).apply(target, [...a.slice(0, -1), (c: object) => fn(preparing(c, onStatement))]);
        };
      }
      return value.bind(target);
    },
    apply(target, thisArg, args) {
      count();
      return Reflect.apply(target as (...a: unknown[]) => unknown, thisArg, args);
    },
  });
}

/**
 * libpq's `?host=/run/postgresql` names a Unix-socket directory; postgres.js wants the socket path as an
 * option instead. A local Postgres over a Unix socket saves a loopback TCP round trip per statement.
 */
export function unixSocket(raw: string): { url: string; path?: string } {
  const u = new URL(raw);
  const dir = u.searchParams.get('host');
  if (!dir?.startsWith('/')) return { url: raw };
  u.searchParams.delete('host');
  return { url: u.toString(), path: `${dir.replace(/\/$/, '')}/.s.PGSQL.${u.port || '5432'}` };
}

/** Key of the advisory lock that serialises migration runners (several `migrate` jobs, test files). */
const MIGRATION_LOCK = 0x7467_6d67; // 'tgmg'

/**
 * Apply the SQL migrations in drizzle/ (idempotent). On Postgres concurrent runners (replicas starting
 * together, a Job and a pod, test files sharing a database) are serialised by an advisory lock: drizzle's
 * migrator itself takes none, and two of them would both try to create the same tables.
 */
export async function migrate(handle: DbHandle): Promise<void> {
  if (handle.kind === 'postgres') {
    const { migrate: run } = await import('drizzle-orm/postgres-js/migrator');
    const apply = () => run(handle.db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    await (handle.withAdvisoryLock ? handle.withAdvisoryLock(MIGRATION_LOCK, apply) : apply());
  } else {
    const { migrate: run } = await import('drizzle-orm/pglite/migrator');
    await run(handle.db as never, { migrationsFolder: MIGRATIONS_FOLDER });
    await handle.saveMigratedTemplate?.();
  }
}
