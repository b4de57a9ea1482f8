import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { loadConfig, type Config } from '../../src/config.js';
import { migrate, openDb, unixSocket } from '../../src/db/client.js';
import { migrationsKey } from '../../src/db/pglite-template.js';
import { startApp, type App } from '../../src/app.js';
import { silentLogger, createLogger } from '../../src/lib/logger.js';
import { DATABASE_URL, REDIS_URL, type Mode } from './env.js';
import { opened } from './open-resources.js';

export interface TestServer {
  app: App;
  mode: Mode;
  url: string;
  wsUrl: string;
  config: Config;
  /** Extra env for processes that should share this server's database and Redis (scaled mode). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-000000';
export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

function adminSql() {
  const { url, path } = unixSocket(DATABASE_URL!);
  return postgres(url, { max: 1, onnotice: () => {}, ...(path ? { path } : {}) });
}

function databaseUrl(name: string): string {
  const url = new URL(DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Key of the advisory lock under which a test process builds the migrated template database. */
const TEMPLATE_LOCK = 0x7467_7470; // 'tgtp'

/**
 * The name of a database holding exactly this code's migrations and nothing else, built once per
 * Postgres (per migrations digest) by the first test process that needs it and copied by
 * `create database … template` after that: a copy takes a few tens of milliseconds, the migrations
 * themselves 0.6–2 s of Postgres and client time per database. Nobody ever connects to it once built,
 * which `create database … template` requires.
 */
async function migratedTemplate(): Promise<string> {
  const name = `tg_template_${migrationsKey()}`;
  const admin = adminSql();
  try {
    await admin`select pg_advisory_lock(${TEMPLATE_LOCK})`;
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) {
      // Built under another name and renamed when complete, so a process killed halfway leaves no
      // half-migrated template behind.
      const building = `${name}_${randomBytes(4).toString('hex')}`;
      await admin.unsafe(`create database ${building}`);
      const h = await openDb({ url: databaseUrl(building), poolSize: 2 }); // migrate holds one for its lock
      try {
        await migrate(h);
      } finally {
        await h.close();
      }
      await admin.unsafe(`alter database ${building} rename to ${name}`);
    }
  } finally {
    await admin.end(); // ending the session releases the advisory lock
  }
  return name;
}

/**
 * A fresh database on the test Postgres (dropped again by the returned function): empty, or with
 * `migrated`, a copy of the migrated template (the app's own `migrate` then finds nothing to do).
 */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  if (!DATABASE_URL) throw new Error('DATABASE_URL is required for the scaled mode');
  const template = opts.migrated ? await migratedTemplate() : null;
  const name = `tg_test_${randomBytes(6).toString('hex')}`;
  const admin = adminSql();
  try {
    await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ''}`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(name),
    drop: async () => {
      const a = adminSql();
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await a.unsafe(`drop database if exists ${name} with (force)`);
            return;
          } catch (err) {
            // WITH (FORCE) cannot terminate an autovacuum worker busy on the database unless the role
            // may signal it (pg_signal_backend): a test that wrote many rows can meet one. Wait for it.
            if (attempt >= 20) throw err;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      } finally {
        await a.end();
      }
    },
  };
}

/**
 * Start the whole product in one process on a free port: embedded (PGlite in memory, in-process queue
 * and pub/sub) or scaled (a fresh Postgres database and a unique Redis prefix). Real HTTP and sockets.
 * The embedded mode unless the caller asks for `scaled` (service-tests: the caller decides, so CI's
 * scaled pass runs a file of this helper only when it names the modes or the services itself).
 */
export async function startTestServer(
  opts: { mode?: Mode; env?: Record<string, string>; role?: 'all' | 'api' | 'worker'; logger?: import('../../src/lib/logger.js').Logger } = {},
): Promise<TestServer> {
  const mode = opts.mode ?? 'embedded';
  let drop: (() => Promise<void>) | undefined;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    SEED_DEMO: 'false',
    MARKET_TICK_MS: '200',
    USER_RATE_LIMIT_PER_MINUTE: '100000',
    ORDER_RATE_LIMIT_PER_SECOND: '1000',
    DATA_DIR: 'memory://',
    // Simulated history is half a million bars: tests that want it turn it on with a few days.
    MARKET_HISTORY: 'false',
  };
  if (mode === 'scaled') {
    if (!REDIS_URL) throw new Error('REDIS_URL is required for the scaled mode');
    const db = await createTestDatabase({ migrated: true });
    drop = db.drop;
    env.DATABASE_URL = db.url;
    env.REDIS_URL = REDIS_URL;
    env.REDIS_PREFIX = `tgt${randomUUID().slice(0, 8)}`;
  }
  Object.assign(env, opts.env);
  const config = loadConfig(env);
  const logger = opts.logger ?? (env.LOG_LEVEL === 'silent' ? silentLogger : createLogger(env.LOG_LEVEL));
  let app: App;
  try {
    app = await startApp(config, opts.role ?? 'all', { logger });
  } catch (err) {
    await drop?.();
    throw err;
  }
  const url = app.http?.url ?? '';
  const server: TestServer = {
    app,
    mode,
    url,
    wsUrl: url.replace(/^http/, 'ws') + '/graphql',
    config,
    env,
    close: async () => {
      await app.stop();
      await drop?.();
      closed();
    },
  };
  const closed = opened(server, `the ${mode} test server at ${url || `(role ${opts.role})`}`);
  return server;
}
