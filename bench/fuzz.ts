/**
 * `npm run bench:fuzz` — 10,000 operations generated from the schema with hostile values (bench/lib/
 * fuzz-ops.ts) against the whole product started in this process (embedded by default; Postgres +
 * Redis when DATABASE_URL and REDIS_URL are set, in a fresh database). Prints the answers by code,
 * every failure (HTTP 5xx, INTERNAL_SERVER_ERROR, an error without a code, another user's object in
 * data), and the process' memory before, during and after. Exit code 1 if anything failed or the server
 * stopped answering.
 *
 * Options (flag or env): --ops=10000 (FUZZ_OPS) --concurrency=8 --seed=20261129
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.js';
import { startApp } from '../src/app.js';
import { silentLogger } from '../src/lib/logger.js';
import { buildAppSchema } from '../src/schema/index.js';
import { runFuzz, setupFuzzWorld } from './lib/fuzz-run.js';
import { createTestDatabase } from '../test/support/server.js';

function option(name: string, env: string, def: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  const v = flag ? flag.split('=')[1] : process.env[env];
  return v ? Number(v) : def;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function main() {
  const ops = option('ops', 'FUZZ_OPS', 10_000);
  const concurrency = option('concurrency', 'FUZZ_CONCURRENCY', 8);
  const seed = option('seed', 'FUZZ_SEED', 20261129);
  const scaled = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
  const db = scaled ? await createTestDatabase() : undefined;
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    JWT_SECRET: randomBytes(48).toString('base64'),
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SEED_DEMO: 'false',
    DATA_DIR: 'memory://',
    USER_RATE_LIMIT_PER_MINUTE: '10000000',
    // The run can outlast the default 15 minutes of an access token on a busy machine.
    ACCESS_TOKEN_TTL_SECONDS: '7200',
    ORDER_RATE_LIMIT_PER_SECOND: '100000',
    ...(db ? { DATABASE_URL: db.url, REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: `fuzz${randomUUID().slice(0, 8)}` } : {}),
  });
  const app = await startApp(config, 'all', { logger: silentLogger });
  const url = app.http!.url;
  try {
    const schema = await buildAppSchema();
    const world = await setupFuzzWorld(url);
    console.log(`fuzz: ${ops} operations, ${concurrency} in flight, seed ${seed}, ${config.mode} mode, against ${url}`);
    // Warm up (JIT, pools, caches) before the first memory reading, so "flat" compares like with like.
    await runFuzz({ url, schema, world, count: 1000, concurrency, seed: seed + 1, maxDepth: config.limits.maxDepth });
    const before = memory();
    const t0 = performance.now();
    const marks: string[] = [];
    const report = await runFuzz({
      url,
      schema,
      world,
      count: ops,
      concurrency,
      seed,
      maxDepth: config.limits.maxDepth,
      onProgress: (done) => {
        const m = memory();
        marks.push(`${done}: rss ${mb(m.rss)}`);
        if (done % 2000 === 0) console.log(`  ${done} done, rss ${mb(m.rss)}, heap ${mb(m.heap)}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      },
    });
    const after = memory();
    const alive = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
    const me = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${world.token}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    }).then(async (r) => ((await r.json()) as { data?: { me?: { id?: string } } }).data?.me?.id, () => undefined);

    console.log('\nanswers by code');
    for (const [code, n] of Object.entries(report.tally).sort((a, b) => b[1] - a[1])) console.log(`  ${code.padEnd(28)} ${n}`);
    console.log(`\noperations          ${report.ops} in ${(report.ms / 1000).toFixed(1)} s (${(report.ops / (report.ms / 1000)).toFixed(0)}/s)`);
    console.log(`failures            ${report.failureCount}   (HTTP 5xx, INTERNAL_SERVER_ERROR, uncoded error, leak; target 0)`);
    for (const f of report.failures) console.log(`  - ${f.reason} in ${f.field}: ${f.query} ${JSON.stringify(f.variables)}`);
    console.log(`alive afterwards    ${alive && me ? 'yes' : 'NO'} (/healthz and an authenticated query)`);
    console.log(`rss                 ${mb(before.rss)} before → ${mb(after.rss)} after (${(((after.rss - before.rss) / before.rss) * 100).toFixed(1)}%)`);
    console.log(`heap used           ${mb(before.heap)} before → ${mb(after.heap)} after${(globalThis as { gc?: unknown }).gc ? ' (after gc)' : ' (run with node --expose-gc for post-gc figures)'}`);
    console.log('(the server and this client share one process and 2 busy cores: figures are noisy)');
    process.exitCode = report.failureCount === 0 && alive && me ? 0 : 1;
  } finally {
    await app.stop();
    await db?.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
