import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { migrate, openDb, type DbHandle } from '../../db/client.js';
import { brokerConnections, users } from '../../db/schema/index.js';
import { silentLogger } from '../../lib/logger.js';
import { Vault } from '../../brokers/connections/vault.js';
import { rotateKey } from './rotate-key.js';

describe('rotate-key re-seals broker credentials under the new key', () => {
  let handle: DbHandle;
  afterAll(async () => handle?.close());

  it('re-seals rows under an old key, leaves them readable, and a second run does nothing', async () => {
    handle = await openDb({ dataDir: 'memory://' });
    await migrate(handle);
    const db = handle.db;
    const [u] = await db.insert(users).values({ email: 'rot@example.com', passwordHash: 'x', name: 'R' }).returning();
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const old = new Vault(oldKey);
    const [c] = await db.insert(brokerConnections).values({ userId: u.id, broker: 'zerodha', status: 'ACTIVE' }).returning();
    await db.update(brokerConnections).set({ credentialsSealed: old.seal({ app: { apiSecret: 's' } }, c.id), keyId: old.keyId }).where(eq(brokerConnections.id, c.id));

    const rotated = new Vault(newKey, [oldKey]);
    expect(await rotateKey({ db, vault: rotated, logger: silentLogger })).toEqual({ resealed: 1, unreadable: 0 });
    const [after] = await db.select().from(brokerConnections).where(eq(brokerConnections.id, c.id));
    expect(after.keyId).toBe(Vault.idOf(newKey));
    // Readable with the new key alone: the old one can now be dropped.
    expect(new Vault(newKey).open(after.credentialsSealed!, c.id)).toEqual({ app: { apiSecret: 's' } });
    expect(await rotateKey({ db, vault: rotated, logger: silentLogger })).toEqual({ resealed: 0, unreadable: 0 });
  });
});
