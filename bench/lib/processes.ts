/**
 * The product's roles as child processes (`migrate`, `api`, `worker`), started the way production starts
 * them: compiled `node dist/main.js <role>` (default) or `node --import tsx src/main.ts <role>`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './stats.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Runtime = 'dist' | 'tsx';

/** Compile src/ to dist/ (tsc only; the GraphiQL bundle is not needed for the benchmark). */
export function buildDist(): void {
  const started = performance.now();
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('tsc -p tsconfig.build.json failed; fix the build or run with --runtime=tsx');
  console.log(`  built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

export function entryArgs(runtime: Runtime, role: string, extraNodeArgs: string[] = []): string[] {
  return runtime === 'dist'
    ? [...extraNodeArgs, path.join(ROOT, 'dist/main.js'), role]
    : [...extraNodeArgs, '--import', 'tsx', path.join(ROOT, 'src/main.ts'), role];
}

export const LOG_DIR = mkdtempSync(path.join(tmpdir(), 'tg-bench-'));

export interface RoleProcess {
  role: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  /** SIGTERM (graceful drain), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

export function startRole(runtime: Runtime, role: string, env: Record<string, string>, nodeArgs: string[] = [], logName: string = role): RoleProcess {
  if (runtime === 'dist' && !existsSync(path.join(ROOT, 'dist/main.js'))) throw new Error('dist/main.js is missing: build first');
  const logFile = path.join(LOG_DIR, `${logName}.log`);
  // Appended: a restarted process (chaos bench) keeps its predecessor's log above its own.
  const log = createWriteStream(logFile, { flags: 'a' });
  // BENCH_NODE_ARGS: more Node/V8 flags for every role this starts (e.g. `--single-threaded-gc`), to compare them.
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, entryArgs(runtime, role, [...extra, ...nodeArgs]), {
    cwd: ROOT,
    // Only what the role needs: config.ts reads the environment, and nothing of the bench's leaks in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Both streams share the log: end it once the child's stdio is closed, not when the first one ends.
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  child.once('close', () => log.end());
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid === undefined) throw new Error(`could not start ${role}`);
  const pid = child.pid;
  let stopping: Promise<number | null> | undefined;
  return {
    role,
    child,
    pid,
    logFile,
    exited,
    stop: (graceMs = 20_000) =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })()),
  };
}

/** Run a one-shot role to completion; throws with its log when it fails. */
export async function runToCompletion(runtime: Runtime, role: string, env: Record<string, string>): Promise<void> {
  const p = startRole(runtime, role, env);
  const code = await p.exited;
  if (code !== 0) throw new Error(`${role} exited with ${code}:\n${tail(p.logFile)}`);
}

/** Poll GET `url` until it answers 200, or throw with the process's log. */
export async function waitReady(p: RoleProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let exited = false;
  void p.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${p.role} exited during start-up:\n${tail(p.logFile)}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${p.role} not ready at ${url} after ${timeoutMs} ms:\n${tail(p.logFile)}`);
    await sleep(100);
  }
}

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
