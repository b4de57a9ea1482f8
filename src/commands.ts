import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './lib/logger.js';
import { migrate, openDb } from './db/client.js';
import { Vault } from './brokers/connections/vault.js';
import { rotateKey } from './services/brokers/rotate-key.js';

/**
 * One-shot commands beside the roles: `rotate-key` re-seals broker credentials under the current
 * ENCRYPTION_KEY (old keys in ENCRYPTION_KEY_PREVIOUS). Returns false when argv names no command.
 */
export async function runCommand(argv: string[]): Promise<boolean> {
  const [name] = argv;
  if (name !== 'rotate-key') return false;
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel).child({ command: name });
  const db = await openDb({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    const r = await rotateKey({ db: db.db, vault: new Vault(config.encryptionKey, config.previousEncryptionKeys), logger });
    process.stdout.write(`re-sealed ${r.resealed} broker connection(s); ${r.unreadable} unreadable\n`);
    if (r.unreadable > 0) process.exitCode = 1;
  } finally {
    await db.close();
  }
  return true;
}
