import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, wsClient, waitFor } from './support/gql.js';

/** A user made through the service (not the API), so set-up does not spend the per-IP budget under test. */
async function directUser(server: TestServer) {
  const email = `door-${Math.random().toString(36).slice(2)}@example.com`;
  const r = await server.app.services.auth.register({ email, password: 'correct-horse-battery', name: 'Door' });
  return { token: r.accessToken, refreshToken: r.refreshToken, id: r.user.id, email };
}

async function post(server: TestServer, query: string, token?: string, variables?: Record<string, unknown>) {
  let req = request(server.url).post('/graphql').set('content-type', 'application/json');
  if (token) req = req.set('authorization', `Bearer ${token}`);
  return req.send({ query, variables });
}

/** One operation over a fresh socket: its data or its errors. */
async function overSocket(server: TestServer, token: string, query: string, variables: Record<string, unknown> = {}) {
  const client = wsClient(server, token);
  try {
    return await new Promise<{ data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }>((resolve) => {
      let out: { data?: unknown; errors?: never[] } = {};
      client.subscribe(
        { query, variables },
        {
          next: (v) => (out = v as never),
          error: (e) => resolve({ errors: Array.isArray(e) ? (e as never) : [{ message: String(e) }] }),
          complete: () => resolve(out),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe.each(modes())('one door for HTTP and sockets: rate limits and subscription caps (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      mode,
      env: { USER_RATE_LIMIT_PER_MINUTE: '5', MAX_SUBSCRIPTIONS_PER_SOCKET: '2', MAX_SUBSCRIPTIONS_PER_USER: '3', MARKET_SIM: 'false' },
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers the sixth HTTP request of a minute with 429, retry-after and RATE_LIMITED in the GraphQL error', async () => {
    const u = await directUser(server);
    for (let i = 0; i < 5; i++) expect((await post(server, '{ me { id } }', u.token)).status).toBe(200);
    const res = await post(server, '{ me { id } }', u.token);
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(res.body.errors[0].extensions.retryAfterMs).toBeGreaterThan(0);
    expect(res.body.errors[0].message).not.toMatch(/internal/i);
  });

  it('charges socket operations to the same bucket: after five over HTTP a query on a socket is RATE_LIMITED', async () => {
    const u = await directUser(server);
    for (let i = 0; i < 5; i++) expect((await post(server, '{ me { id } }', u.token)).status).toBe(200);
    const r = await overSocket(server, u.token, '{ me { id } }');
    expect(r.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('limits queries and mutations sent only over one socket, the sixth being RATE_LIMITED', async () => {
    const u = await directUser(server);
    const client = wsClient(server, u.token);
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await new Promise<{ errors?: { extensions?: { code?: string } }[] }>((resolve) => {
        let out = {};
        client.subscribe({ query: '{ me { id } }' }, { next: (v) => (out = v), error: (e) => resolve({ errors: e as never }), complete: () => resolve(out) });
      });
      codes.push(r.errors?.[0]?.extensions?.code);
    }
    await client.dispose();
    expect(codes.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(codes.slice(5)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
  });

  it('limits anonymous login and register per IP address', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await post(server, `mutation { login(email: "nobody-${i}@example.com", password: "wrong-password-1") { accessToken } }`);
      codes.push(res.body.errors?.[0]?.extensions?.code);
      if (i >= 5) expect(res.status).toBe(429);
    }
    // The anonymous bucket of 127.0.0.1 may already hold other tests' requests: whatever it held, it ends limited.
    expect(codes.at(-1)).toBe('RATE_LIMITED');
    expect(codes.filter((c) => c === 'INVALID_CREDENTIALS').length).toBeLessThanOrEqual(5);
    const reg = await post(server, `mutation { register(email: "fresh-${Date.now()}@example.com", password: "correct-horse-battery") { accessToken } }`);
    expect(reg.status).toBe(429);
    expect(reg.body.errors[0].extensions.code).toBe('RATE_LIMITED');
  });

  it('caps live subscriptions per socket and per user, and frees a slot when one completes', async () => {
    const u = await directUser(server);
    const a = wsClient(server, u.token);
    const b = wsClient(server, u.token);
    const SUB = 'subscription { balanceChanged { sequence } }';
    const s1 = collect(a, SUB);
    const s2 = collect(a, SUB);
    await waitFor('two live subscriptions', () => liveOf(u.id) === 2);
    const s3 = collect(a, SUB); // third on the socket: refused
    await waitFor('the third on one socket to be refused', () => s3.errors.length > 0);
    expect(JSON.stringify(s3.errors)).toMatch(/RATE_LIMITED/);
    expect(JSON.stringify(s3.errors)).toMatch(/SUBSCRIPTIONS_PER_SOCKET/);
    const s4 = collect(b, SUB); // third of the user, on another socket: allowed
    await waitFor('three live', () => liveOf(u.id) === 3);
    const s5 = collect(b, SUB); // fourth of the user: refused
    await waitFor('the fourth of the user to be refused', () => s5.errors.length > 0);
    expect(JSON.stringify(s5.errors)).toMatch(/SUBSCRIPTIONS_PER_USER/);
    s1.dispose();
    await waitFor('a slot freed', () => liveOf(u.id) === 2);
    await a.dispose();
    await b.dispose();
    await waitFor('all released when sockets close', () => liveOf(u.id) === 0);
    expect(s2.errors).toEqual([]);
    expect(s4.errors).toEqual([]);
  });

  function liveOf(userId: string): number {
    return server.app.http!.door.liveSubscriptions(userId);
  }
});

describe.each(modes())('subscription caps under a burst of subscribes (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { MAX_SUBSCRIPTIONS_PER_SOCKET: '10', MAX_SUBSCRIPTIONS_PER_USER: '25', MARKET_SIM: 'false' } });
  });
  afterAll(async () => {
    await server?.close();
  });
  const SUB = 'subscription { balanceChanged { sequence } }';
  const liveOf = (userId: string) => server.app.http!.door.liveSubscriptions(userId);

  it('keeps exactly the cap live when 30 subscribes arrive at once on one socket, and on four sockets of one user', async () => {
    const u = await directUser(server);
    const one = wsClient(server, u.token);
    const burst = Array.from({ length: 30 }, () => collect(one, SUB)); // sent back to back, none awaited
    await waitFor('every subscribe answered or live', () => liveOf(u.id) + burst.filter((s) => s.errors.length > 0).length === 30);
    expect(liveOf(u.id)).toBe(10);
    expect(burst.filter((s) => s.errors.length === 0)).toHaveLength(10);
    for (const s of burst.filter((b) => b.errors.length > 0)) expect(JSON.stringify(s.errors)).toMatch(/SUBSCRIPTIONS_PER_SOCKET/);
    await one.dispose();
    await waitFor('released with the socket', () => liveOf(u.id) === 0);

    const sockets = Array.from({ length: 4 }, () => wsClient(server, u.token));
    const subs = sockets.map((c) => Array.from({ length: 30 }, () => collect(c, SUB)));
    const refused = () => subs.flat().filter((s) => s.errors.length > 0).length;
    await waitFor('every subscribe answered or live', () => liveOf(u.id) + refused() === 120);
    expect(liveOf(u.id)).toBe(25);
    for (const perSocket of subs) expect(perSocket.filter((s) => s.errors.length === 0).length).toBeLessThanOrEqual(10);
    expect(JSON.stringify(subs.flat().map((s) => s.errors))).toMatch(/SUBSCRIPTIONS_PER_USER/);
    await Promise.all(sockets.map((c) => c.dispose()));
    await waitFor('all released when the sockets close', () => liveOf(u.id) === 0);
  }, 30_000);
});
