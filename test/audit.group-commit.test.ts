/**
 * Audit records arriving together (concurrent order placements each record one) are chained in one
 * transaction (group commit) instead of one serialised transaction each; the chain must stay one valid
 * chain with every entry once, in both modes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { AuditService } from '../src/services/people/audit.service.js';
import { silentLogger } from '../src/lib/logger.js';
import { createLedgerHarness, sqlRows, type LedgerHarness } from './support/ledger-harness.js';
import { modes } from './support/env.js';
import { createTestDatabase } from './support/server.js';

describe.each(modes())('audit records arriving together, %s', (mode) => {
  let h: LedgerHarness;
  let dropDb: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const pg = mode === 'scaled' ? await createTestDatabase() : undefined;
    dropDb = pg?.drop;
    h = await createLedgerHarness({ databaseUrl: pg?.url });
  });
  afterAll(async () => {
    await h?.close();
    await dropDb?.();
  });

  it('chains 60 concurrent records into one valid chain, each once, in fewer transactions than records', async () => {
    // A clock that moves one millisecond per reading: a transaction per record would give 60 timestamps.
    let tick = Date.parse('2026-01-01T00:00:00Z');
    const audit = new AuditService({ db: h.db, clock: { now: () => new Date(tick++) }, logger: silentLogger });
    const { viewer } = await h.newAccount();
    await Promise.all(Array.from({ length: 60 }, (_, i) => audit.record({ actorId: viewer.userId, action: 'order.placed', subjectId: null, data: { i } })));
    const rows = await sqlRows<{ i: number; n: number }>(h.db, sql`select (data->>'i')::int as i, count(*)::int as n from audit_log group by 1 order by 1`);
    expect(rows.map((r) => r.i)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(rows.every((r) => r.n === 1)).toBe(true);
    // Entries of one batch share its timestamp: fewer distinct timestamps than entries means batches.
    const [t] = await sqlRows<{ n: number }>(h.db, sql`select count(distinct at)::int as n from audit_log`);
    expect(t.n).toBeLessThan(60);
    const v = await audit.verify({ userId: viewer.userId, role: 'ADMIN' });
    expect(v).toMatchObject({ valid: true, entries: 60, firstBrokenId: null });
  });
});
