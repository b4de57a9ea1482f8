import { eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { brokerConnections } from '../../db/schema/index.js';
import type { Logger } from '../../lib/logger.js';
import { Vault } from '../../brokers/connections/vault.js';

/**
 * `rotate-key`: re-seal every broker connection not yet under the current ENCRYPTION_KEY. Run it with
 * the new key as ENCRYPTION_KEY and the old one(s) in ENCRYPTION_KEY_PREVIOUS; afterwards the old key
 * can be dropped. Each row is re-sealed on its own (idempotent: a second run finds nothing to do).
 */
export async function rotateKey(deps: { db: Db; vault: Vault; logger: Logger }): Promise<{ resealed: number; unreadable: number }> {
  const rows = await deps.db
    .select({ id: brokerConnections.id, sealed: brokerConnections.credentialsSealed, keyId: brokerConnections.keyId })
    .from(brokerConnections)
    .where(isNotNull(brokerConnections.credentialsSealed));
  let resealed = 0;
  let unreadable = 0;
  for (const r of rows) {
    if (!r.sealed || Vault.keyIdOf(r.sealed) === deps.vault.keyId) continue;
    try {
      const plain = deps.vault.open<unknown>(r.sealed, r.id);
      await deps.db.update(brokerConnections).set({ credentialsSealed: deps.vault.seal(plain, r.id), keyId: deps.vault.keyId }).where(eq(brokerConnections.id, r.id));
      resealed++;
    } catch (err) {
      unreadable++;
      deps.logger.error({ connectionId: r.id, keyId: r.keyId, reason: (err as Error).message }, 'cannot re-seal: its key is not in ENCRYPTION_KEY_PREVIOUS');
    }
  }
  deps.logger.info({ resealed, unreadable, keyId: deps.vault.keyId }, 'broker credentials re-sealed under the current key');
  return { resealed, unreadable };
}
