/**
 * `npm run bench:idle` — what the scaled deployment costs with nothing to do, and what a steady trickle of
 * orders costs on top (Postgres + Redis, api and worker as separate processes, as bench:orders runs them).
 *
 * Starts api and worker (with the bench's 20 users, their fillReceived subscriptions and a warm-up order
 * each), then opens a window of --seconds (20) in which the bench places orders at --rate per second (0:
 * none, the idle cost). Over the window it prints, per process: CPU (from /proc; Postgres backends of
 * the run's database told apart), SQL statements sent (the roles' `db_statements_total`), Redis commands
 * sent by name (counted in ioredis by `bench/lib/idle-probe.mjs`, preloaded into both roles) and a V8 CPU
 * profile of the window alone (started and stopped in process on SIGUSR2), summarised by area and by function.
 * With a rate, each figure is also given per order.
 *
 * Options: --seconds=20 --rate=0 --users=20 --tick-ms=500 --runtime=dist|tsx --no-build --top=15
 * --env=NAME=value,NAME=value (more environment for api and worker, e.g. POOLED_TICK_MS=60000 to see a timer's share)
 */
import 'reflect-metadata';
import { mkdirSync, existsSync, readFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { requireEnv } from './lib/infra.js';
import { LOG_DIR, ROOT, buildDist, type Runtime } from './lib/processes.js';
import { GraphqlPath, BENCH_METRICS_TOKEN } from './lib/graphql-path.js';
import { openLoop } from './lib/load.js';
import { cpuBetween, cpuSnapshot } from './lib/cpu.js';
import { backendPids, openSql } from './lib/verify.js';
import { sleep, summarize, ms, table } from './lib/stats.js';
import { summarizeProfile } from './lib/profile-summary.js';

function option(argv: string[], name: string, dflt: string): string {
  const hit = argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!hit) return dflt;
  return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : 'true';
}

async function statements(url: string): Promise<number> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` } });
  const m = /^db_statements_total(?:\{[^}]*\})? ([0-9.eE+-]+)$/m.exec(await res.text());
  return m ? Number(m[1]) : Number.NaN;
}

/** Scans and row writes per table of the run's database, so far. */
async function tableActivity(sql: ReturnType<typeof openSql>): Promise<Map<string, { scans: number; writes: number }>> {
  const rows = await sql<{ relname: string; scans: string; writes: string }[]>`
    select relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) as scans, n_tup_ins + n_tup_upd + n_tup_del as writes from pg_stat_user_tables`;
  return new Map(rows.map((r) => [r.relname, { scans: Number(r.scans), writes: Number(r.writes) }]));
}

async function main(): Promise<void> {
  const env = requireEnv();
  const argv = process.argv.slice(2);
  const seconds = Number(option(argv, 'seconds', '20'));
  const ratePerS = Number(option(argv, 'rate', '0'));
  const users = Number(option(argv, 'users', '20'));
  const tickMs = Number(option(argv, 'tick-ms', '500'));
  const top = Number(option(argv, 'top', '15'));
  const runtime = option(argv, 'runtime', 'dist') as Runtime;
  if (runtime === 'dist' && option(argv, 'no-build', 'false') !== 'true') buildDist();
  const probeDir = path.join(LOG_DIR, 'idle-probe');
  mkdirSync(probeDir, { recursive: true });
  const g = new GraphqlPath(env, {
    runtime,
    users,
    workerConcurrency: 64,
    poolSize: 10,
    tickMs,
    nodeArgs: ['--import', path.join(ROOT, 'bench/lib/idle-probe.mjs')],
    logLevel: 'warn',
    extraEnv: {
      IDLE_PROBE_DIR: probeDir,
      ...Object.fromEntries(
        option(argv, 'env', '')
          .split(',')
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    },
  });
  console.log(`bench:idle — ${seconds} s window, ${ratePerS}/s orders, ${users} users, market tick ${tickMs} ms, runtime ${runtime}; logs ${LOG_DIR}`);
  const sql = await (async () => {
    await g.start(64);
    await g.setUp();
    return openSql(g.db.url);
  })();
  try {
    // One order per portfolio, so every path (quotes cached, statements prepared) has run once.
    for (let p = 0; p < users; p++) {
      for (let attempt = 0; ; attempt++) {
        const r = await g.place(p, `w-${p}`);
        if (r.ok) break;
        if (attempt > 300) throw new Error(`warm-up order failed: ${r.code}`);
        await sleep(200);
      }
    }
    if (!(await g.fills.waitFor('w-', users, 60_000))) throw new Error('warm-up fills did not arrive');
    await sleep(2000);
    const roles = new Map<number, string>([
      [g.api.pid, 'api'],
      [g.worker.pid, 'worker'],
      [process.pid, 'bench'],
    ]);
    for (const pid of await backendPids(sql, g.db.name)) roles.set(pid, 'pg backends');
    const targets = g.metricsTargets;
    const st0 = await Promise.all(targets.map((t) => statements(t.url)));
    const tables0 = await tableActivity(sql);
    g.api.child.kill('SIGUSR2');
    g.worker.child.kill('SIGUSR2');
    const c0 = cpuSnapshot();
    let orders = 0;
    let e2e: number[] = [];
    if (ratePerS > 0) {
      const load = await openLoop({ place: g.place, ratePerSecond: ratePerS, durationMs: seconds * 1000, portfolios: users, idPrefix: 'r-' });
      orders = load.accepted.length;
      await g.fills.waitFor('r-', orders, 30_000);
      e2e = load.accepted.map((a) => (g.fills.firstAt.get(a.clientOrderId) ?? Number.NaN) - a.startedAt).filter((v) => !Number.isNaN(v));
    } else {
      await sleep(seconds * 1000);
    }
    for (const pid of await backendPids(sql, g.db.name)) if (!roles.has(pid)) roles.set(pid, 'pg backends');
    const c1 = cpuSnapshot();
    g.api.child.kill('SIGUSR2');
    g.worker.child.kill('SIGUSR2');
    const st1 = await Promise.all(targets.map((t) => statements(t.url)));
    const cpu = cpuBetween(c0, c1, roles);
    await sleep(1500); // backends flush their table statistics at most once a second
    const tables1 = await tableActivity(sql);
    const files = (pid: number) => [path.join(probeDir, `${pid}.json`), path.join(probeDir, `${pid}.cpuprofile`)];
    for (let i = 0; i < 100 && ![g.api.pid, g.worker.pid].every((p) => files(p).every(existsSync)); i++) await sleep(100);

    const per = (v: number) => (orders > 0 ? (v / orders).toFixed(2) : '—');
    const win = cpu.seconds;
    const rows: string[][] = [];
    for (const role of ['api', 'worker', 'pg backends', 'postgres', 'redis', 'bench', 'other']) {
      const cores = cpu.cores[role] ?? 0;
      rows.push([`CPU ${role}`, `${(cores * 1000).toFixed(1)} ms/s`, per(cores * win * 1000)]);
    }
    rows.push(['machine busy (cores of 2)', cpu.machine.toFixed(2), '']);
    targets.forEach((t, i) => rows.push([`SQL statements, ${t.name}`, `${((st1[i] - st0[i]) / win).toFixed(1)} /s`, per(st1[i] - st0[i])]));
    const out: string[] = ['', `=== bench:idle (${win.toFixed(1)} s window, ${orders} orders) ===`, table(['figure', 'per second', 'per order'], rows)];
    const tableRows = [...tables1]
      .map(([t, v]) => [t, v.scans - (tables0.get(t)?.scans ?? 0), v.writes - (tables0.get(t)?.writes ?? 0)] as const)
      .filter(([, r, w]) => r + w > 0)
      .sort((a, b) => b[1] + b[2] - (a[1] + a[2]));
    out.push(
      '',
      'table activity over the window (pg_stat_user_tables of the run\'s database: scans = seq + index scans, writes = rows inserted/updated/deleted):',
      table(['table', 'scans /s', 'writes /s', 'scans per order'], tableRows.map(([t, r, w]) => [t, (r / win).toFixed(1), (w / win).toFixed(1), per(r)])),
    );
    if (e2e.length) {
      const s = summarize(e2e);
      out.push('', `mutation → fillReceived: p50 ${ms(s.p50)}, p90 ${ms(s.p90)}, p99 ${ms(s.p99)} (${e2e.length} orders)`);
    }
    for (const [name, pid] of [
      ['api', g.api.pid],
      ['worker', g.worker.pid],
    ] as const) {
      const [json, prof] = files(pid);
      if (!existsSync(json)) {
        out.push('', `${name}: no probe output`);
        continue;
      }
      const r = JSON.parse(readFileSync(json, 'utf8')) as { seconds: number; redis: Record<string, number>; writes?: Record<string, number>; channels?: Record<string, number> };
      const cmds = Object.entries(r.redis).sort((a, b) => b[1] - a[1]);
      const total = cmds.reduce((a, [, n]) => a + n, 0);
      out.push(
        '',
        `${name}: Redis commands sent ${(total / r.seconds).toFixed(1)}/s${orders ? `, ${per(total)} per order` : ''}: ` +
          cmds.map(([k, n]) => `${k} ${(n / r.seconds).toFixed(1)}/s`).join(', '),
      );
      const ws = Object.entries(r.writes ?? {}).sort((a, b) => b[1] - a[1]);
      const wTotal = ws.reduce((a, [, n]) => a + n, 0);
      out.push(
        `${name}: socket writes ${(wTotal / r.seconds).toFixed(1)}/s${orders ? `, ${per(wTotal)} per order` : ''}, by peer port: ` +
          ws.map(([k, n]) => `${k} ${(n / r.seconds).toFixed(1)}/s${orders ? ` (${per(n)})` : ''}`).join(', '),
      );
      const ch = Object.entries(r.channels ?? {}).sort((a, b) => b[1] - a[1]);
      if (ch.length) out.push(`${name}: publish by channel / evalsha by script: ` + ch.map(([k, n]) => `${k} ${orders ? per(n) : (n / r.seconds).toFixed(1) + '/s'}`).join(', '));
      if (process.env.BENCH_KEEP_PROFILES) copyFileSync(prof, path.join(process.env.BENCH_KEEP_PROFILES, `${name}.cpuprofile`));
      if (existsSync(prof)) out.push(`${name}: CPU profile of the window`, summarizeProfile(prof, top));
    }
    console.log(out.join('\n'));
  } finally {
    await sql.end();
    await g.stop();
    await g.cleanUp().catch((err: unknown) => console.error('cleanup failed:', err));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
