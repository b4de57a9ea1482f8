/**
 * With no pooled account a worker runs no pooled-window job at all (the tick used to fire every
 * POOLED_TICK_MS for nothing); the first account created starts it, and its windows close on time.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { users } from '../src/db/schema/index.js';
import type { Principal } from '../src/auth/tokens.js';

async function windowJobsRun(server: TestServer): Promise<number> {
  const m = await server.app.metrics.jobs.get();
  return m.values.filter((v) => v.labels.name === 'pooled-window').reduce((a, v) => a + v.value, 0);
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(modes())('the pooled window tick only while a pooled account exists (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { POOLED_TICK_MS: '100' } });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
  });

  it('runs no pooled-window job before the first account, and ticks once one is created', async () => {
    const { app } = server;
    // Ten intervals of the tick: the schedule of before would have run it about ten times.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await windowJobsRun(server)).toBe(0);

    const [adminRow] = await app.db.db.insert(users).values({ email: `sched-admin-${randomUUID()}@x`, passwordHash: 'x', name: 'admin', role: 'ADMIN' }).returning();
    const admin: Principal = { userId: adminRow.id, role: 'ADMIN' };
    await app.services.pooled.create(admin, { name: `sched-${randomUUID()}`, broker: 'paper', windowMs: 1_000 });
    await waitUntil('three pooled-window runs', async () => (await windowJobsRun(server)) >= 3, 15_000);
  });
});
