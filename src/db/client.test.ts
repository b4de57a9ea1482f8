import { describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { migrate, openDb } from './client.js';

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
