import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { errorCode, gql, must, newUser, wsClient } from './support/gql.js';

const REGISTER = `mutation($e:String!,$p:String!){ register(email:$e,password:$p){ accessToken refreshToken user{ id email role } } }`;
const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ accessToken refreshToken user{ id } } }`;
const REFRESH = `mutation($t:String!){ refreshToken(refreshToken:$t){ accessToken refreshToken } }`;

describe.each(modes())('auth over HTTP and sockets (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ mode });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('registers, logs in and answers me with the same identity', async () => {
    const u = await newUser(server);
    const me = await must<{ me: { id: string; email: string; role: string } }>(server, '{ me { id email role createdAt } }', {}, u.token);
    expect(me.me).toMatchObject({ id: u.id, email: u.email, role: 'CLIENT' });
    const login = await must<{ login: { accessToken: string; user: { id: string } } }>(server, LOGIN, { e: u.email.toUpperCase(), p: u.password });
    expect(login.login.user.id).toBe(u.id);
  });

  it('refuses me without a token, and says why with a bad one', async () => {
    expect(errorCode(await gql(server, '{ me { id } }'))).toBe('UNAUTHENTICATED');
    const bad = await gql(server, '{ me { id } }', {}, 'not-a-jwt');
    expect(errorCode(bad)).toBe('UNAUTHENTICATED');
    expect(bad.errors?.[0].message).toMatch(/invalid or expired/i);
  });

  it('gives wrong password and unknown email the same error, revealing nothing', async () => {
    const u = await newUser(server);
    const wrong = await gql(server, LOGIN, { e: u.email, p: 'wrong-password-123' });
    const unknown = await gql(server, LOGIN, { e: `nobody-${Date.now()}@example.com`, p: 'wrong-password-123' });
    expect(errorCode(wrong)).toBe('INVALID_CREDENTIALS');
    expect(errorCode(unknown)).toBe('INVALID_CREDENTIALS');
    expect(wrong.errors?.[0].message).toBe(unknown.errors?.[0].message);
  });

  it('refuses a short password, a malformed email and a duplicate email with stable codes', async () => {
    const short = await gql(server, REGISTER, { e: `short-${Date.now()}@example.com`, p: 'short' });
    expect(errorCode(short)).toBe('WEAK_PASSWORD');
    const malformed = await gql(server, REGISTER, { e: 'not-an-email', p: 'long-enough-password' });
    expect(errorCode(malformed)).toBe('BAD_USER_INPUT');
    expect(malformed.errors?.[0].extensions?.field).toBe('email');
    const u = await newUser(server);
    const dup = await gql(server, REGISTER, { e: u.email.toUpperCase(), p: 'another-long-password' });
    expect(errorCode(dup)).toBe('EMAIL_TAKEN');
    expect(JSON.stringify(dup.errors)).not.toMatch(/users_email|duplicate key|constraint/i);
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const u = await newUser(server);
    const first = await must<{ refreshToken: { accessToken: string; refreshToken: string } }>(server, REFRESH, { t: u.refreshToken });
    expect(first.refreshToken.refreshToken).not.toBe(u.refreshToken);
    const me = await must<{ me: { id: string } }>(server, '{ me { id } }', {}, first.refreshToken.accessToken);
    expect(me.me.id).toBe(u.id);
    // Reuse of the spent token: refused, and the token it was rotated into dies with it.
    expect(errorCode(await gql(server, REFRESH, { t: u.refreshToken }))).toBe('INVALID_TOKEN');
    expect(errorCode(await gql(server, REFRESH, { t: first.refreshToken.refreshToken }))).toBe('INVALID_TOKEN');
    // A fresh login is a new family and works.
    const again = await must<{ login: { refreshToken: string } }>(server, LOGIN, { e: u.email, p: u.password });
    await must(server, REFRESH, { t: again.login.refreshToken });
  });

  it('accepts the token on a socket and closes a socket with a bad token with 4403', async () => {
    const u = await newUser(server);
    const good = wsClient(server, u.token);
    const ok = await new Promise<unknown>((resolve, reject) => {
      good.subscribe({ query: '{ me { id } }' }, { next: (v) => resolve(v), error: reject, complete: () => {} });
    });
    expect(ok).toMatchObject({ data: { me: { id: u.id } } });
    await good.dispose();

    for (const token of ['garbage', null]) {
      const bad = wsClient(server, token);
      const code = await new Promise<number>((resolve) => {
        bad.on('closed', (e) => resolve((e as { code: number }).code));
        bad.subscribe({ query: '{ me { id } }' }, { next: () => {}, error: () => {}, complete: () => {} });
      });
      expect(code).toBe(4403);
      await bad.dispose();
    }
  });

  it('costs first/last given as variables as if written inline, over HTTP and sockets', async () => {
    const u = await newUser(server);
    // A connection nested in a connection: 200 × 200 rows. Written inline, the cost rule always refused it;
    // with the sizes in variables it was counted once and ran.
    const NESTED = `query($n: Int) { portfolios { orders(first: $n) { edges { node { id portfolio { orders(first: $n) { edges { node { id fills { id } } } } } } } } } }`;
    const big = await gql(server, NESTED, { n: 200 }, u.token);
    expect(errorCode(big)).toBe('QUERY_TOO_COMPLEX');
    expect(big.status).toBe(400);
    expect(big.errors![0]!.message).toMatch(/^Query Cost limit of \d+ exceeded, found \d+/);
    expect(big.data).toBeUndefined();
    // The same shape at 20 × 20 is an ordinary request.
    expect((await must<{ portfolios: unknown[] }>(server, NESTED, { n: 20 }, u.token)).portfolios).toEqual([]);
    // A declared default counts too.
    const byDefault = await gql(server, NESTED.replace('$n: Int', '$n: Int = 200'), {}, u.token);
    expect(errorCode(byDefault)).toBe('QUERY_TOO_COMPLEX');
    // The largest page of instruments with their quotes, written inline, fits the default limit.
    const page = await must<{ instruments: unknown[] }>(server, `{ instruments(first: 200) { id symbol exchange name currency lotSize tickSize tradable quote { symbol bid ask last volume timestamp } } }`, {}, u.token);
    expect(page.instruments.length).toBeGreaterThan(20);

    const ws = wsClient(server, u.token);
    const viaSocket = await new Promise<{ extensions?: { code?: string } }[]>((resolve, reject) => {
      ws.subscribe({ query: NESTED, variables: { n: 200 } }, { next: (v) => reject(new Error(`ran: ${JSON.stringify(v)}`)), error: (e) => resolve(e as never), complete: () => reject(new Error('completed')) });
    });
    expect(viaSocket[0]!.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    await ws.dispose();
  });

  it('serves healthz, readyz and Prometheus metrics', async () => {
    const h = await request(server.url).get('/healthz');
    expect(h.status).toBe(200);
    const r = await request(server.url).get('/readyz');
    expect(r.status).toBe(200);
    expect(r.body.checks.database).toBe('ok');
    if (mode === 'scaled') expect(r.body.checks.redis).toBe('ok');
    const m = await request(server.url).get('/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/process_cpu_user_seconds_total/);
    expect(m.text).toMatch(/http_request_duration_seconds_bucket/);
    expect(m.text).toMatch(/job_queue_jobs\{[^}]*state="waiting"/);
  });

  it('hides internals and enforces depth, alias and body limits with codes', async () => {
    const deep = await gql(server, `{ me { advisor { advisor { advisor { advisor { advisor { advisor { advisor { advisor { advisor { advisor { id } } } } } } } } } } } }`);
    expect(errorCode(deep)).toBe('QUERY_TOO_COMPLEX');
    // The limit named, not graphql-armor's "Syntax Error:" (the query parsed).
    expect(deep.errors![0]!.message).toMatch(/^Query depth limit of \d+ exceeded/);
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(" ");
    expect(errorCode(await gql(server, `{ ${aliases} }`))).toBe('QUERY_TOO_COMPLEX');
    const tokens = await gql(server, `{ ${'__typename '.repeat(2100)} }`);
    expect(errorCode(tokens)).toBe('QUERY_TOO_COMPLEX');
    expect(tokens.status).toBe(400);
    for (const r of [deep, tokens]) expect(r.errors![0]!.message).not.toMatch(/Syntax Error/);
    const big = await request(server.url)
      .post('/graphql')
      .set('content-type', 'application/json')
      .send({ query: `{ __typename }`, variables: { pad: 'x'.repeat(200_000) } });
    expect(big.status).toBe(413);
    expect(big.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
