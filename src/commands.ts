import { loadConfigOrExit } from './config.js';
import { createLogger } from './lib/logger.js';
import { migrate, openDb } from './db/client.js';
import { Vault } from './brokers/connections/vault.js';
import { rotateKey } from './services/brokers/rotate-key.js';
import { readFile } from 'node:fs/promises';
import { seedInstruments } from './db/seed/instruments.js';
import { InstrumentMasterRepository } from './services/brokers/instrument-master.repository.js';

/**
 * One-shot commands beside the roles: `rotate-key` re-seals broker credentials under the current
 * ENCRYPTION_KEY (old keys in ENCRYPTION_KEY_PREVIOUS); `import-instruments <broker> <file>` loads a
 * broker's instrument master (Kite CSV, Upstox JSON, Fyers CSV, Angel One JSON, Groww CSV). Returns false when argv names no command.
 */
export async function runCommand(argv: string[]): Promise<boolean> {
  const [name] = argv;
  if (name !== 'rotate-key' && name !== 'import-instruments') return false;
  const [, broker, file] = argv;
  if (name === 'import-instruments' && (!broker || !file)) {
    console.error('usage: npm start -- import-instruments <broker> <file>');
    process.exit(2);
  }
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel).child({ command: name });
  const db = await openDb({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrate(db);
    if (name === 'import-instruments') {
      await seedInstruments(db.db);
      const r = await new InstrumentMasterRepository(db.db).importMaster(broker!, await readFile(file!, 'utf8')).catch((err: Error) => {
        process.stderr.write(`import-instruments: ${err.message}\n`);
        process.exitCode = 2;
        return null;
      });
      if (!r) return true;
      process.stdout.write(`imported ${r.imported} ${broker} instrument(s); ${r.matched} matched to ours; ${r.skipped} skipped\n`);
      for (const e of r.errors.slice(0, 20)) process.stderr.write(`line ${e.line}: ${e.message}\n`);
      if (r.errors.length > 20) process.stderr.write(`… and ${r.errors.length - 20} more\n`);
      return true;
    }
    const r = await rotateKey({ db: db.db, vault: new Vault(config.encryptionKey, config.previousEncryptionKeys), logger });
    process.stdout.write(`re-sealed ${r.resealed} broker connection(s); ${r.unreadable} unreadable\n`);
    if (r.unreadable > 0) process.exitCode = 1;
  } finally {
    await db.close();
  }
  return true;
}
