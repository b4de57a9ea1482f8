/** Fresh databases and Redis prefixes for a benchmark run, and their removal afterwards. */
import { unixSocket } from '../../src/db/client.js';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import postgres from 'postgres';
import { Redis } from 'ioredis';

export interface BenchEnv {
  databaseUrl: string;
  redisUrl: string;
}

/**
 * DATABASE_URL and REDIS_URL, or exit with a message saying what to set. With `required: false` (a run
 * of embedded phases only) they may be missing: the strings are then empty and nothing may use them.
 */
export function requireEnv(opts: { required?: boolean; why?: string } = {}): BenchEnv {
  const databaseUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  if (opts.required === false) return { databaseUrl: databaseUrl ?? '', redisUrl: redisUrl ?? '' };
  const missing = [!databaseUrl && 'DATABASE_URL', !redisUrl && 'REDIS_URL'].filter(Boolean);
  if (missing.length || !databaseUrl || !redisUrl) {
    const bench = process.env.npm_lifecycle_event ?? 'this benchmark';
    console.error(
      `${bench} needs ${missing.join(' and ')}${opts.why ? ` (${opts.why})` : ''}: a Postgres role that may CREATE DATABASE and a Redis, e.g.\n` +
        `  DATABASE_URL=postgres://user:pass@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379 npm run ${bench}`,
    );
    process.exit(2);
  }
  return { databaseUrl, redisUrl };
}

export interface FreshDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** An admin connection (libpq-style `?host=/socket/dir` URLs go over the Unix socket). */
function connect(url: string) {
  const { url: u, path } = unixSocket(url);
  return postgres(u, { max: 1, onnotice: () => {}, ...(path ? { path } : {}) });
}

/** An empty database on the server of `adminUrl`, named tg_bench_<random>. */
export async function createDatabase(adminUrl: string): Promise<FreshDatabase> {
  const name = `tg_bench_${randomBytes(5).toString('hex')}`;
  const admin = connect(adminUrl);
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const a = connect(adminUrl);
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await a.unsafe(`drop database if exists ${name} with (force)`);
            return;
          } catch (err) {
            // An autovacuum worker on the database cannot be terminated by a non-superuser: wait for it.
            if (attempt >= 10) throw err;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      } finally {
        await a.end();
      }
    },
  };
}

/** A Redis key prefix unique to this run (letters and digits: REDIS_PREFIX's rule). */
export function newRedisPrefix(tag: string): string {
  return `tgbench${tag}${randomBytes(4).toString('hex')}`;
}

/** Delete every key under `${prefix}:` (queue, rate limiter, leader lock). Returns how many. */
export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** A TCP port free on 127.0.0.1 right now. */
/** With BENCH_PORT_BASE set, ports are taken from there upwards (a shared machine's port ranges), else the OS picks. */
let nextPort = Number(process.env.BENCH_PORT_BASE ?? 0);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(nextPort > 0 ? nextPort++ : 0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
