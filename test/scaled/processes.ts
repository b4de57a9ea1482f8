/**
 * Runs the product as separate OS processes (`node <src/main.ts compiled> <role>`) on the real
 * Postgres and Redis of DATABASE_URL and REDIS_URL: a one-shot `migrate`, then `api` and `worker`
 * processes sharing a fresh database and a Redis prefix of their own. Children are killed in `close()`,
 * and by a process `exit` hook should a test runner die before it gets there.
 *
 * Tests may read the environment here (src/ may not).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type SQL } from 'drizzle-orm';
import { buildSync } from 'esbuild';
import { beforeEach, expect } from 'vitest';
import { openDb, type DbHandle } from '../../src/db/client.js';
import { DATABASE_URL, REDIS_URL, modes } from '../support/env.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, createTestDatabase } from '../support/server.js';
import { connectTestRedis, deleteKeys } from '../ports/helpers.js';
import { rows } from './trading.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Whether the scaled tests run: DATABASE_URL and REDIS_URL both set. With REQUIRE_SERVICES=1 and either
 * missing, `modes()` throws while the file loads, so the file FAILS instead of being skipped.
 */
export const SCALED = modes().includes('scaled');

export type Role = 'api' | 'worker';
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds since the epoch. */
  at: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every child this test process started and has not yet seen exit: the safety net kills them. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of alive) c.kill('SIGKILL');
});

/**
 * `src/main.ts` and everything it imports, compiled into one ES module (esbuild, the compiler tsx itself
 * runs per file; packages stay imports from node_modules). A child then starts in about 1.8 s of CPU
 * instead of 5 s under tsx's loader, and the crash tests start dozens of children. Built once per test
 * process and named by its content, so concurrent test processes of one checkout agree on the file; it
 * lives under the checkout, so the code finds the package root (drizzle/, dist/) as it does from src/.
 */
let bundle: string | undefined;
function mainBundle(): string {
  if (bundle) return bundle;
  const dir = path.join(ROOT, 'node_modules/.cache/tradegraph');
  const built = buildSync({ entryPoints: [path.join(ROOT, 'src/main.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false, logLevel: 'warning' });
  const code = built.outputFiles[0].contents;
  const file = path.join(dir, `main-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
  }
  // Bundles of older code (more than a day old: a concurrent run of other code may still use its own).
  for (const name of readdirSync(dir)) {
    const old = path.join(dir, name);
    if (/^main-[0-9a-f]{16}\.mjs$/.test(name) && old !== file && Date.now() - statSync(old).mtimeMs > 86_400_000) rmSync(old, { force: true });
  }
  return (bundle = file);
}

/** A port nobody listens on right now (the OS picks it; we close and hand it to the child). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true if a TCP connection to the port is refused, false if it is accepted. */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') resolve(true);
      // Accepted by the kernel, then dropped as the listener closed: not (yet) a clean refusal.
      else if (err.code === 'ECONNRESET') resolve(false);
      else reject(err);
    });
  });
}

/**
 * Whether the server on `port` has an empty accept backlog, at least `connections` open connections, and
 * has read every byte sent on them (Linux: /proc/net/tcp shows the listener's backlog and each socket's
 * unread bytes). Used to send a signal only once requests are in the server's hands, not in a kernel queue.
 */
export async function serverHasReadEverything(port: number, connections: number): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile('/proc/net/tcp', 'utf8');
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let established = 0;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !f[1].endsWith(`:${hexPort}`)) continue;
    const [state, queues] = [f[3], f[4]];
    const unread = parseInt(queues.split(':')[1], 16);
    if (unread !== 0) return false; // a listener's backlog, or bytes nobody has read yet
    if (state === '01') established++;
  }
  return established >= connections;
}

/** One running `api` or `worker` process. */
export class ProductProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:PORT (GraphQL for an api; /healthz, /readyz, /metrics for both). */
  readonly url: string;
  /** ws://127.0.0.1:PORT/graphql */
  readonly wsUrl: string;
  /** Settles when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | undefined;
  private out = '';

  constructor(
    readonly name: string,
    readonly role: Role | 'migrate',
    readonly port: number,
    env: Record<string, string>,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/graphql`;
    this.child = spawn(process.execPath, [mainBundle(), role], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    alive.add(this.child);
    const capture = (chunk: Buffer) => {
      this.out += chunk.toString();
      // Keep the tail: enough to explain a failure, bounded however chatty a process gets.
      if (this.out.length > 200_000) this.out = this.out.slice(-100_000);
    };
    this.child.stdout?.on('data', capture);
    this.child.stderr?.on('data', capture);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        alive.delete(this.child);
        this.exit = { code, signal, at: Date.now() };
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Everything the process wrote to stdout and stderr (the tail, for very long runs). */
  output(): string {
    return this.out;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Waits for the process to exit, failing after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} (pid ${this.pid}) did not exit within ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Polls GET /readyz until 200; fails early, with the output, if the process exits meanwhile. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready (${JSON.stringify(this.exit)})\n${this.describe()}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms\n${this.describe()}`);
      await sleep(100);
    }
  }

  /** The Prometheus text of GET /metrics. */
  async metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status, `${this.name} /metrics`).toBe(200);
    return res.text();
  }

  describe(): string {
    const state = this.running ? 'running' : `exited ${JSON.stringify(this.exit)}`;
    const out = this.out.trim() ? this.out.trim().split('\n').slice(-60).join('\n') : '(no output)';
    return `── ${this.name} (${this.role}, pid ${this.pid}, port ${this.port}, ${state}) ──\n${out}`;
  }
}

/**
 * The sum of a Prometheus counter's samples whose labels include every given label (0 when absent).
 * Prometheus text is `name{a="x",b="y"} 12`.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[2]);
  }
  return total;
}

export interface Cluster {
  /** The environment every process of this cluster gets (fresh database, own Redis prefix). */
  env: Record<string, string>;
  prefix: string;
  /** A connection to the cluster's database, for assertions. */
  db: DbHandle;
  processes: ProductProcess[];
  /** Start an `api` or `worker` process on a free port and wait for its /readyz. */
  start(role: Role, name: string, env?: Record<string, string>): Promise<ProductProcess>;
  /** The recent output of every process, for failure reports. */
  describe(): string;
  /** SIGKILL whatever still runs, close the db connection, drop the database, delete the Redis keys. */
  close(): Promise<void>;
}

/**
 * A fresh database (migrated by the `migrate` role, which must exit 0) and Redis prefix, ready for
 * `start()`. `name` goes into the Redis prefix, to tell test files apart when inspecting Redis.
 */
export async function startCluster(name: string, extraEnv: Record<string, string> = {}): Promise<Cluster> {
  if (!DATABASE_URL || !REDIS_URL) throw new Error('DATABASE_URL and REDIS_URL are required for the scaled process tests');
  const redisUrl = REDIS_URL;
  const database = await createTestDatabase();
  const prefix = `tgp${name}${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    // Only what node needs from our own environment: never our DATABASE_URL (the admin database).
    ...Object.fromEntries(['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT'].flatMap((k) => (process.env[k] ? [[k, process.env[k]!]] : []))),
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL && process.env.TEST_LOG_LEVEL !== 'silent' ? process.env.TEST_LOG_LEVEL : 'warn',
    SEED_DEMO: 'false',
    MARKET_TICK_MS: '200',
    USER_RATE_LIMIT_PER_MINUTE: '1000000',
    ORDER_RATE_LIMIT_PER_SECOND: '10000',
    DATABASE_POOL_SIZE: '8',
    ...extraEnv,
  };
  const processes: ProductProcess[] = [];
  let db: DbHandle | undefined;
  const describeAll = () => processes.map((p) => p.describe()).join('\n');

  const close = async () => {
    for (const p of processes) p.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.waitExit(10_000).catch(() => undefined)));
    await db?.close().catch(() => undefined);
    await database.drop();
    const redis = await connectTestRedis(redisUrl);
    try {
      await deleteKeys(redis, prefix);
    } finally {
      await redis.quit();
    }
  };

  try {
    const migrate = new ProductProcess('migrate', 'migrate', 0, { ...env, PORT: '0' });
    processes.push(migrate);
    const done = await migrate.waitExit(60_000);
    if (done.code !== 0) throw new Error(`the migrate role exited ${JSON.stringify(done)}\n${migrate.describe()}`);
    db = await openDb({ url: database.url, poolSize: 4 });
  } catch (err) {
    await close();
    throw err;
  }

  return {
    env,
    prefix,
    db,
    processes,
    start: async (role, procName, more = {}) => {
      const port = await freePort();
      const p = new ProductProcess(procName, role, port, { ...env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, ...more });
      processes.push(p);
      await p.waitReady();
      return p;
    },
    describe: describeAll,
    close,
  };
}

/** Print every process's recent output when a test of this file fails. Call inside the describe. */
export function dumpOutputOnFailure(cluster: () => Cluster | undefined): void {
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      const c = cluster();
      if (c) console.error(`process output of the failed test:\n${c.describe()}`);
    });
  });
}

/**
 * Everything known about one order, for a failure message: its row, its exchange order, its outbox
 * events, its jobs in Redis (by id, with their state) and every process log line that names it.
 */
export async function explainOrder(cluster: Cluster, orderId: string): Promise<string> {
  const run = async (q: SQL) => JSON.stringify(await rows(cluster.db.db, q));
  const order = await run(sql`select id, status, broker_order_id, quantity::text, filled_quantity::text, submit_attempts, updated_at from orders where id = ${orderId}`);
  const paper = await run(sql`select id, status, filled_quantity::text, created_at, updated_at from paper_orders where client_order_id = ${orderId}`);
  const events = await run(
    sql`select sequence, type, payload->'order'->>'status' as status, created_at from outbox_events where payload->'order'->>'id' = ${orderId} order by sequence`,
  );
  const redis = await connectTestRedis(cluster.env.REDIS_URL);
  const jobs: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${cluster.prefix}:orders:*${orderId}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        if ((await redis.type(key)) !== 'hash') continue;
        const h = await redis.hgetall(key);
        jobs.push(
          JSON.stringify({ key: key.slice(cluster.prefix.length + 1), name: h.name, attemptsMade: h.attemptsMade, stalled: h.stc, processedOn: h.processedOn, finishedOn: h.finishedOn, failedReason: h.failedReason }),
        );
      }
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  const logs = cluster.processes.flatMap((p) => p.output().split('\n').filter((l) => l.includes(orderId)).map((l) => `${p.name}: ${l.slice(0, 600)}`));
  return [`order ${order}`, `  exchange ${paper}`, `  events ${events}`, `  jobs ${jobs.join(' ') || '(none)'}`, ...logs.map((l) => `  ${l}`)].join('\n');
}
