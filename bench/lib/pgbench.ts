/**
 * pgbench's built-in TPC-B-like script against the same Postgres server, in a scratch database made and
 * dropped here: the yardstick that lets an orders/s figure be compared across machines.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { createDatabase } from './infra.js';

const run = promisify(execFile);

export interface PgbenchResult {
  tps: number;
  clients: number;
  seconds: number;
}

/** pgbench from PATH or from Debian's versioned directories; null if none is installed. */
export function findPgbench(): string | null {
  for (const p of ['/usr/bin/pgbench', ...[17, 16, 15, 14, 13].map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`)]) if (existsSync(p)) return p;
  return null;
}

/** Initialise scale 1 in a fresh database, run `-b tpcb-like` for `seconds`, drop the database. */
export async function runPgbench(adminUrl: string, opts: { seconds: number; clients: number }): Promise<PgbenchResult> {
  const bin = findPgbench();
  if (!bin) throw new Error('pgbench not found (Debian: apt-get install postgresql-client or postgresql)');
  const db = await createDatabase(adminUrl);
  try {
    await run(bin, ['-i', '-q', '-s', '1', db.url], { timeout: 120_000 });
    const { stdout } = await run(bin, ['-b', 'tpcb-like', '-T', String(opts.seconds), '-c', String(opts.clients), '-j', '2', '-n', db.url], {
      timeout: (opts.seconds + 60) * 1000,
    });
    const m = /tps = ([\d.]+)/.exec(stdout);
    if (!m) throw new Error(`could not read pgbench's tps from:\n${stdout}`);
    return { tps: Number(m[1]), clients: opts.clients, seconds: opts.seconds };
  } finally {
    await db.drop();
  }
}
