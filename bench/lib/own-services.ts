/**
 * A Postgres cluster and a Redis server of the benchmark's own, on ports it is given, which it may stop
 * and restart (the chaos bench does): never the shared development services. Postgres runs as the
 * `postgres` OS user when we are root (it refuses root), as .ci/run does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { sleep } from './stats.js';

function pgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/pg_ctl'))) : [];
  versions.sort((a, b) => Number(a) - Number(b));
  if (!versions.length) throw new Error('no Postgres binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
  return path.join(root, versions.at(-1)!, 'bin');
}

function idOf(user: string): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`no OS user ${user}`);
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export class OwnPostgres {
  private readonly bin = pgBin();
  private readonly user = userInfo().uid === 0 ? 'postgres' : userInfo().username;
  readonly dir = mkdtempSync('/tmp/tg-chaos-pg-');
  constructor(readonly port: number) {}

  /** postgres://tradegraph@127.0.0.1:port/tradegraph (trust auth on 127.0.0.1: a throwaway cluster). */
  get url(): string {
    return `postgres://tradegraph:tradegraph@127.0.0.1:${this.port}/tradegraph`;
  }

  private run(args: string[], check = true): { status: number | null; out: string } {
    const [cmd, ...rest] = args;
    const full = this.user === userInfo().username ? [cmd, ...rest] : ['runuser', '-u', this.user, '--', cmd, ...rest];
    const r = spawnSync(full[0], full.slice(1), { cwd: '/', encoding: 'utf8' });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (check && r.status !== 0) throw new Error(`${args.join(' ')} failed (${r.status}):\n${out}`);
    return { status: r.status, out };
  }

  async init(): Promise<void> {
    chmodSync(this.dir, 0o755);
    if (this.user !== userInfo().username) {
      const { uid, gid } = idOf(this.user);
      chownSync(this.dir, uid, gid);
    }
    this.run([path.join(this.bin, 'initdb'), '-D', `${this.dir}/data`, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    await this.start();
    this.run([path.join(this.bin, 'psql'), '-v', 'ON_ERROR_STOP=1', '-q', '-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-d', 'postgres', '-c', "CREATE ROLE tradegraph LOGIN CREATEDB PASSWORD 'tradegraph'"]);
    this.run([path.join(this.bin, 'psql'), '-v', 'ON_ERROR_STOP=1', '-q', '-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-d', 'postgres', '-c', 'CREATE DATABASE tradegraph OWNER tradegraph']);
  }

  async start(): Promise<void> {
    this.run([
      path.join(this.bin, 'pg_ctl'),
      'start',
      '-D',
      `${this.dir}/data`,
      '-l',
      `${this.dir}/postgres.log`,
      '-w',
      '-t',
      '60',
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c max_connections=200 -c shared_buffers=64MB -c synchronous_commit=on`,
    ]);
  }

  /** A crash: `pg_ctl stop -m immediate` (no checkpoint; recovery replays the WAL on start). */
  crash(): void {
    this.run([path.join(this.bin, 'pg_ctl'), 'stop', '-D', `${this.dir}/data`, '-m', 'immediate', '-w', '-t', '30'], false);
  }

  stop(): void {
    this.run([path.join(this.bin, 'pg_ctl'), 'stop', '-D', `${this.dir}/data`, '-m', 'fast', '-w', '-t', '30'], false);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class OwnRedis {
  readonly dir = mkdtempSync('/tmp/tg-chaos-redis-');
  private child: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start redis-server in the foreground (our child), with the AOF the product's compose file uses. */
  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    this.child = child;
    for (let i = 0; i < 80; i++) {
      const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), 'ping'], { encoding: 'utf8' });
      if (r.stdout.trim() === 'PONG') return;
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (port ${this.port} taken?)`);
      await sleep(100);
    }
    throw new Error('redis-server did not answer PING');
  }

  /** A crash: SIGKILL (what the AOF wrote in the last second may be lost). */
  async crash(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
