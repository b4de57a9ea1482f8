/** Drives Fuzzer operations against a running api over HTTP and tallies the answers. */
import http from 'node:http';
import type { GraphQLSchema } from 'graphql';
import { Fuzzer, judge, type FuzzIds } from './fuzz-ops.js';

export interface FuzzWorld {
  /** The attacker's access token (the caller of most operations). */
  token: string;
  ids: FuzzIds;
}

export interface FuzzReport {
  ops: number;
  ms: number;
  /** Answers by code (`ok`, `NOT_FOUND`, `BAD_USER_INPUT`, `HTTP_413`...). */
  tally: Record<string, number>;
  /** Answers that must never happen, with the operation that caused them (first few kept). */
  failures: { reason: string; field: string; query: string; variables: unknown }[];
  failureCount: number;
}

/**
 * One POST on a fresh connection (no keep-alive): a reused idle socket that the server closes at the
 * same moment would show up as "no answer" though the server is fine.
 */
function post(url: string, body: unknown, token?: string): Promise<{ status: number; json: unknown }> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/graphql`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        timeout: 60_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: unknown = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            /* a non-JSON body is judged by its status */
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Two users: the attacker (portfolio, deposit, open order) and a victim whose ids the attacker tries. */
export async function setupFuzzWorld(url: string): Promise<FuzzWorld> {
  const must = async (query: string, variables: Record<string, unknown>, token?: string) => {
    const r = await post(url, { query, variables }, token);
    const body = r.json as { data?: Record<string, any>; errors?: unknown[] };
    if (!body?.data || body.errors?.length) throw new Error(`fuzz set-up failed: ${JSON.stringify(body)}`);
    return body.data;
  };
  const user = async (name: string) => {
    const email = `fuzz-${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const d = await must(`mutation($e:String!){ register(email:$e, password:"correct-horse-battery"){ accessToken } }`, { e: email });
    const token = d.register.accessToken as string;
    const p = await must(`mutation{ createPortfolio(name:"fuzz"){ id } }`, {}, token);
    const pid = p.createPortfolio.id as string;
    await must(`mutation($p:ID!){ deposit(portfolioId:$p, amount:"100000"){ id } }`, { p: pid }, token);
    const o = await must(
      `mutation($p:ID!){ placeOrder(input:{ portfolioId:$p, symbol:"SBIN", side:BUY, type:LIMIT, quantity:"1", limitPrice:"1.00" }){ id } }`,
      { p: pid },
      token,
    );
    return { token, ids: [pid, o.placeOrder.id as string] };
  };
  const attacker = await user('attacker');
  const victim = await user('victim');
  return { token: attacker.token, ids: { own: attacker.ids, foreign: victim.ids } };
}

/** Run `count` generated operations with `concurrency` in flight; never throws for a bad answer. */
export async function runFuzz(opts: {
  url: string;
  schema: GraphQLSchema;
  world: FuzzWorld;
  count: number;
  concurrency: number;
  seed: number;
  maxDepth?: number;
  onProgress?: (done: number) => void;
}): Promise<FuzzReport> {
  const fuzzer = new Fuzzer(opts.schema, opts.world.ids, opts.seed, opts.maxDepth);
  const tally: Record<string, number> = {};
  const failures: FuzzReport['failures'] = [];
  let failureCount = 0;
  let issued = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < opts.count) {
      issued++;
      const op = fuzzer.next();
      let verdict;
      try {
        const r = await post(opts.url, { query: op.query, variables: op.variables }, op.anonymous ? undefined : opts.world.token);
        verdict = judge(r.status, r.json);
        const data = (r.json as { data?: unknown } | null)?.data;
        if (!verdict.failure && data) {
          const text = JSON.stringify(data);
          const leaked = opts.world.ids.foreign.find((id) => text.includes(id));
          if (leaked) verdict = { code: 'LEAK', failure: `another user's object ${leaked} in data` };
        }
      } catch (err) {
        const e = err as Error & { code?: string };
        verdict = { code: 'NO_ANSWER', failure: `no answer: ${e.message}${e.code ? ` (${e.code})` : ''}` };
      }
      tally[verdict.code] = (tally[verdict.code] ?? 0) + 1;
      if (verdict.failure) {
        failureCount++;
        if (failures.length < 20) failures.push({ reason: verdict.failure, field: op.field, query: op.query.slice(0, 400), variables: clip(op.variables) });
      }
      done++;
      if (done % 1000 === 0) opts.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { ops: done, ms: performance.now() - started, tally, failures, failureCount };
}

function clip(v: unknown): unknown {
  const s = JSON.stringify(v);
  return s.length > 300 ? `${s.slice(0, 300)}…` : v;
}
