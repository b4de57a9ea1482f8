import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { migrate, openDb, unixSocket } from './client.js';

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
