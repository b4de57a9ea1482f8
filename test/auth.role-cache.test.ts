/**
 * Roles kept per process (auth/principals.ts): a request no longer reads the user's role when it was read
 * less than ROLE_KEPT_MS ago, and a role change still takes effect on the next request — in the process
 * that made it at once, in every other process as soon as the `user-role-changed` announcement reaches it
 * (Redis in the scaled mode), not after the keeping time runs out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { PrincipalResolver } from '../src/auth/principals.js';
import { users } from '../src/db/schema/index.js';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { must, newUser, waitFor } from './support/gql.js';
import { adminEmail, registerAdmin, setRole, type Person } from './support/people.js';

describe.each(modes())('roles kept between requests (%s)', (mode) => {
  let server: TestServer;
  let admin: Person;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { ADMIN_EMAIL: adminEmail() } });
    admin = await registerAdmin(server);
  }, 180_000);
  afterAll(async () => {
    await server?.close();
  });

  it('sees a demotion and a promotion on the very next request with the same token', async () => {
    const u = await newUser(server);
    expect((await must<{ me: { role: string } }>(server, `{ me { role } }`, {}, u.token)).me.role).toBe('CLIENT');
    await setRole(server, admin, u.id, 'ADVISOR');
    expect((await must<{ me: { role: string } }>(server, `{ me { role } }`, {}, u.token)).me.role).toBe('ADVISOR');
    await setRole(server, admin, u.id, 'CLIENT');
    expect((await must<{ me: { role: string } }>(server, `{ me { role } }`, {}, u.token)).me.role).toBe('CLIENT');
  });

  it("makes another process forget a role it keeps when the change is announced, though its keeping time never ends", async () => {
    const s = server.app.services;
    // Another replica: its own resolver and role memory, the same pub/sub; its clock never moves, so only
    // the announcement can make it read the role again.
    const replica = new PrincipalResolver({ db: server.app.db.db, accessTokens: s.accessTokens, apiKeys: s.apiKeys, pubsub: s.pubsub, clock: { now: () => new Date(1) } });
    await replica.start();
    try {
      const u = await newUser(server);
      expect((await replica.resolve(u.token))?.role).toBe('CLIENT');
      await setRole(server, admin, u.id, 'ADVISOR');
      await waitFor('the replica to see the new role', async () => (await replica.resolve(u.token))?.role === 'ADVISOR', 5_000);
      // Kept again from then on: a change written by hand (no announcement) is not seen by this replica,
      // which is why every change goes through PeopleService.
      await server.app.db.db.update(users).set({ role: 'CLIENT' }).where(eq(users.id, u.id));
      expect((await replica.resolve(u.token))?.role).toBe('ADVISOR');
    } finally {
      await replica.stop();
    }
  });
});
