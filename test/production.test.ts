import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { ConfigError, loadConfig } from '../src/config.js';
import { startTestServer, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, waitFor, wsClient } from './support/gql.js';

const GOOD = { JWT_SECRET: randomBytes(48).toString('base64'), ENCRYPTION_KEY: randomBytes(32).toString('base64') };

describe('production posture: configuration', () => {
  it('refuses to start without secrets, naming each one', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: 'memory://' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: 'memory://' })).toThrow(/JWT_SECRET is required[\s\S]*ENCRYPTION_KEY is required/);
  });

  it('refuses published or trivial secrets', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, ENCRYPTION_KEY: GOOD.ENCRYPTION_KEY })).toThrow(/JWT_SECRET is a default/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: GOOD.JWT_SECRET, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY })).toThrow(/ENCRYPTION_KEY is a default/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a'.repeat(40), ENCRYPTION_KEY: GOOD.ENCRYPTION_KEY })).toThrow(/JWT_SECRET is a default/);
  });

  it('refuses to seed the demo user, and never seeds it by default, even embedded', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', ...GOOD, SEED_DEMO: 'true' })).toThrow(/SEED_DEMO cannot be on/);
    const c = loadConfig({ NODE_ENV: 'production', ...GOOD, DATA_DIR: 'memory://' });
    expect(c.mode).toBe('embedded');
    expect(c.seedDemo).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development', DATA_DIR: 'memory://', ...GOOD }).seedDemo).toBe(true);
  });

  it('turns introspection, GraphiQL and a public /metrics off, unless configured', () => {
    const c = loadConfig({ NODE_ENV: 'production', ...GOOD });
    expect(c.exposure).toEqual({ introspection: false, graphiql: false, metricsPort: undefined, metricsToken: undefined, metricsOff: true });
    expect(loadConfig({ NODE_ENV: 'production', ...GOOD, METRICS_PORT: '9464' }).exposure).toMatchObject({ metricsPort: 9464, metricsOff: false });
    const opened = loadConfig({ NODE_ENV: 'production', ...GOOD, INTROSPECTION: 'true', GRAPHIQL: 'true', METRICS_TOKEN: 'x'.repeat(8) + 'y'.repeat(8) });
    expect(opened.exposure).toMatchObject({ introspection: true, graphiql: true, metricsPort: undefined, metricsOff: false });
    expect(loadConfig({ NODE_ENV: 'development', ...GOOD }).exposure).toMatchObject({ introspection: true, graphiql: true, metricsPort: undefined, metricsOff: false });
  });
});

describe.each(modes())('production posture: a running api (%s)', (mode) => {
  let server: TestServer;
  const token = randomBytes(24).toString('hex');
  beforeAll(async () => {
    server = await startTestServer({ mode, env: { NODE_ENV: 'production', ...GOOD, SEED_DEMO: '', METRICS_TOKEN: token, MARKET_SIM: 'false' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses introspection over HTTP and sockets alike, and serves no GraphiQL page', async () => {
    const res = await request(server.url).post('/graphql').send({ query: '{ __schema { types { name } } }' });
    expect(res.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.body.data).toBeUndefined();
    const page = await request(server.url).get('/graphql').set('accept', 'text/html');
    expect(page.text ?? '').not.toMatch(/graphiql/i);

    const u = await server.app.services.auth.register({ email: `prod-${Date.now()}@example.com`, password: 'correct-horse-battery' });
    const client = wsClient(server, u.accessToken);
    const sub = collect(client, '{ __schema { types { name } } }');
    await waitFor('the socket to refuse introspection', () => sub.errors.length > 0 || sub.items.length > 0);
    expect(sub.items).toEqual([]);
    expect(JSON.stringify(sub.errors)).toMatch(/introspection/i);
    await client.dispose();
  });

  it('has no demo user', async () => {
    expect(server.config.seedDemo).toBe(false);
    const res = await request(server.url)
      .post('/graphql')
      .send({ query: `mutation { login(email: "${server.config.demo.email}", password: "${server.config.demo.password}") { accessToken } }` });
    expect(res.body.errors[0].extensions.code).toBe('INVALID_CREDENTIALS');
  });

  it('serves /metrics only with its token', async () => {
    expect((await request(server.url).get('/metrics')).status).toBe(401);
    expect((await request(server.url).get('/metrics').set('authorization', 'Bearer wrong')).status).toBe(401);
    const ok = await request(server.url).get('/metrics').set('authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.text).toMatch(/graphql_operations_total/);
  });
});

describe('production posture: /metrics on its own port', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { NODE_ENV: 'production', ...GOOD, METRICS_PORT: '4150', MARKET_SIM: 'false' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 404 on the api port and serves the figures on METRICS_PORT', async () => {
    expect((await request(server.url).get('/metrics')).status).toBe(404);
    expect((await request(server.url).get('/healthz')).status).toBe(200);
    const res = await request('http://127.0.0.1:4150').get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/process_cpu_user_seconds_total/);
  });
});
