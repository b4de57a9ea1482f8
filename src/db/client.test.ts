import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_FOLDER, migrate, openDb, preparing, unixSocket } from './client.js';

describe('openDb on PGlite', () => {
  it('applies the migrations and creates the domain tables', async () => {
    const h = await openDb({ dataDir: 'memory://' });
    await migrate(h);
    const rows = await h.db.execute<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    const names = (rows as unknown as { rows?: { table_name: string }[] }).rows ?? (rows as unknown as { table_name: string }[]);
    expect(names.map((r) => r.table_name)).toEqual(expect.arrayContaining(['users', 'orders', 'fills', 'outbox_events', 'holds']));
    await h.close();
  });

  it('starts the next fresh cluster from the migrated template: every migration applied before migrate runs', async () => {
    // The first fresh cluster to be migrated saved the template (this file's first test, or an earlier run).
    const first = await openDb({ dataDir: 'memory://' });
    await migrate(first);
    await first.close();

    const h = await openDb({ dataDir: 'memory://' });
    expect(h.saveMigratedTemplate).toBeUndefined(); // loaded migrated: nothing to save
    const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
    const applied = await h.db.execute<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect((applied as unknown as { rows: { n: number }[] }).rows[0].n).toBe(journal.entries.length);
    const users = await h.db.execute<{ n: number }>(sql`select count(*)::int as n from users`);
    expect((users as unknown as { rows: { n: number }[] }).rows[0].n).toBe(0);
    await migrate(h); // finds nothing to do
    await h.close();
  });
});

describe('Postgres URLs', () => {
  it('turns a libpq socket directory (?host=/dir) into the postgres.js socket path', () => {
    expect(unixSocket('postgres://u:p@localhost:5433/db?host=/run/postgresql')).toEqual({
      url: 'postgres://u:p@localhost:5433/db',
      path: '/run/postgresql/.s.PGSQL.5433',
    });
    expect(unixSocket('postgres://u:p@db.internal/db')).toEqual({ url: 'postgres://u:p@db.internal/db' });
  });
});

describe('preparing (the postgres.js client as drizzle sees it)', () => {
  /** A stand-in for a postgres.js client: callable (tagged queries), with unsafe and begin. */
  function fakeClient(calls: unknown[][]) {
    const client = Object.assign((...a: unknown[]) => calls.push(['tagged', ...a]), {
      unsafe: (q: string, args: unknown[], options: Record<string, unknown>) => calls.push(['unsafe', q, args, options]),
      begin: (fn: (c: unknown) => unknown) => fn(fakeClient(calls)),
      options: { max: 10 },
    });
    return client;
  }

  it('sends every unsafe query prepared and counts each statement, a transaction as its begin and its end', async () => {
    const calls: unknown[][] = [];
    let statements = 0;
    const c = preparing(fakeClient(calls), () => statements++);
    c.unsafe('select 1', [], {});
    expect(calls[0]).toEqual(['unsafe', 'select 1', [], { prepare: true }]);
    expect(statements).toBe(1);
    await c.begin((tx) => {
      (tx as ReturnType<typeof fakeClient>).unsafe('update t set a = 1', [], { prepare: false });
      return null;
    });
    // The transaction's own statement is prepared too (the wrapper reaches the inner client).
    expect(calls[1]).toEqual(['unsafe', 'update t set a = 1', [], { prepare: true }]);
    expect(statements).toBe(4);
    (c as unknown as (s: TemplateStringsArray) => unknown)`select 2`;
    expect(statements).toBe(5);
    expect(c.options).toEqual({ max: 10 });
  });
});
