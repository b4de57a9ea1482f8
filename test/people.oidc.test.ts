import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, waitFor, wsClient } from './support/gql.js';

type Key = { kid: string; privateKey: CryptoKey; jwk: JWK };

/** A small OpenID Connect issuer on 127.0.0.1: discovery document and JWKS; counts JWKS fetches. */
async function startIssuer() {
  const keys: Key[] = [];
  let jwksFetches = 0;
  const server = http.createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks`, authorization_endpoint: `${base}/authorize`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/jwks') {
      jwksFetches++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  async function newKey(publish = true): Promise<Key> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const kid = `k${keys.length + 1}-${Math.random().toString(36).slice(2, 6)}`;
    const key = { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
    if (publish) keys.push(key);
    return key;
  }
  async function token(key: Key, claims: { sub: string; aud?: string; iss?: string; exp?: string; email?: string }) {
    return new SignJWT({ email: claims.email, name: 'Enterprise User' })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(claims.iss ?? issuer)
      .setSubject(claims.sub)
      .setAudience(claims.aud ?? 'tradegraph')
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? '5m')
      .sign(key.privateKey);
  }
  return { issuer, newKey, token, publish: (k: Key) => keys.push(k), jwksFetches: () => jwksFetches, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.each(modes())('OIDC bearer tokens from our own issuer (%s)', (mode) => {
  let server: TestServer;
  let idp: Awaited<ReturnType<typeof startIssuer>>;
  let key: Key;
  beforeAll(async () => {
    idp = await startIssuer();
    key = await idp.newKey();
    server = await startTestServer({
      mode,
      env: { OIDC_ISSUER: idp.issuer, OIDC_AUDIENCE: 'tradegraph', OIDC_AUTO_PROVISION: 'true', OIDC_JWKS_COOLDOWN_MS: '0' },
    });
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  it('provisions a user on first use and maps the same issuer and subject to the same user', async () => {
    const sub = `emp-${Date.now()}`;
    const email = `${sub}@enterprise.example`;
    const first = await must(server, `{ me { id email role } }`, {}, await idp.token(key, { sub, email }));
    expect(first.me).toMatchObject({ email, role: 'CLIENT' });
    const again = await must(server, `{ me { id } }`, {}, await idp.token(key, { sub, email: 'changed@enterprise.example' }));
    expect(again.me.id).toBe(first.me.id);
    // It is a full user: it can create a portfolio, and password login is impossible for it.
    await must(server, `mutation { createPortfolio(name: "oidc") { id } }`, {}, await idp.token(key, { sub }));
    expect(errorCode(await gql(server, `mutation($e:String!){ login(email:$e, password:"anything-at-all-123"){ accessToken } }`, { e: email }))).toBe('INVALID_CREDENTIALS');
  });

  it('refuses a wrong audience, an expired token, another issuer and a key the issuer never published', async () => {
    const sub = `emp-bad-${Date.now()}`;
    const stranger = await idp.newKey(false);
    for (const t of [
      await idp.token(key, { sub, aud: 'someone-else' }),
      await idp.token(key, { sub, exp: '-1m' }),
      await idp.token(key, { sub, iss: 'http://127.0.0.1:1/evil' }),
      await idp.token(stranger, { sub }),
    ]) {
      expect(errorCode(await gql(server, `{ me { id } }`, {}, t))).toBe('UNAUTHENTICATED');
    }
  });

  it('caches the JWKS and refetches it when a token names a new key (rotation)', async () => {
    const sub = `emp-rot-${Date.now()}`;
    await must(server, `{ me { id } }`, {}, await idp.token(key, { sub }));
    const before = idp.jwksFetches();
    for (let i = 0; i < 5; i++) await must(server, `{ me { id } }`, {}, await idp.token(key, { sub }));
    expect(idp.jwksFetches()).toBe(before);
    const rotated = await idp.newKey();
    const me = await must(server, `{ me { id } }`, {}, await idp.token(rotated, { sub }));
    expect(me.me.id).toBeTruthy();
    expect(idp.jwksFetches()).toBe(before + 1);
  });

  it('authenticates a socket with an OIDC token', async () => {
    const sub = `emp-ws-${Date.now()}`;
    const client = wsClient(server, await idp.token(key, { sub }));
    const r = collect<{ me: { id: string } }>(client, `{ me { id } }`);
    await waitFor('me over the socket', () => r.items.length > 0 || r.errors.length > 0);
    expect(r.errors).toEqual([]);
    expect(r.items[0].me.id).toBeTruthy();
    await client.dispose();
  });

  it('still accepts our own access tokens beside OIDC', async () => {
    const d = await must(server, `mutation { register(email: "local-${Date.now()}@example.com", password: "correct-horse-battery") { accessToken user { id } } }`);
    expect((await must(server, `{ me { id } }`, {}, d.register.accessToken)).me.id).toBe(d.register.user.id);
  });
});
