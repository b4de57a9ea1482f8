import { afterAll, beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { parse, type OperationDefinitionNode } from 'graphql';
import { collect, gql, newUser, waitFor, wsClient } from './support/gql.js';
import { adminEmail, assign, setupFirm } from './support/people.js';
import { ACTORS, READERS, ROWS, expectedRefusal, type Actor, type Fixture, type MatrixRow } from './support/access-matrix.js';
import { ANGEL, buildFixture } from './support/access-matrix.fixture.js';
import { AngelOneFake } from './brokers/fakes/angelone.js';
import { buildAppSchema } from '../src/schema/index.js';

/** The root operations a row's document calls, as `Query.me`, `Mutation.login`... */
function rootFields(row: MatrixRow): string[] {
  const op = parse(row.doc).definitions[0] as OperationDefinitionNode;
  const type = { query: 'Query', mutation: 'Mutation', subscription: 'Subscription' }[op.operation];
  return op.selectionSet.selections.flatMap((s) => (s.kind === 'Field' ? [`${type}.${s.name.value}`] : []));
}

/** Every operation × every caller, from one table (test/support/access-matrix.ts). */
describe.each(modes())('the access matrix (%s)', (mode) => {
  let server: TestServer;
  let firm: Awaited<ReturnType<typeof setupFirm>>;
  let fx: Fixture;
  let secretName: string;
  let angel: AngelOneFake;
  const tokens = {} as Record<Actor, string | null>;

  beforeAll(async () => {
    angel = await new AngelOneFake().start();
    angel.addClient(ANGEL.clientCode, ANGEL.apiKey, ANGEL.pin, ANGEL.totp);
    server = await startTestServer({
      mode,
      env: {
        ADMIN_EMAIL: adminEmail(),
        WEBHOOK_ALLOW_PRIVATE: 'true',
        // The matrix's webhooks point at a closed port: one try per delivery (not six, with backoff), so
        // their failures do not keep the server busy through the rest of the matrix (about 700 tries).
        WEBHOOK_MAX_ATTEMPTS: '1',
        BROKER_ANGELONE_BASE_URL: angel.url,
      },
    });
    firm = await setupFirm(server);
    secretName = `secret-${Math.random().toString(36).slice(2)}`;
    fx = await buildFixture(server, firm, secretName);
    Object.assign(tokens, {
      owner: firm.owner.token,
      otherClient: firm.otherClient.token,
      ownersAdvisor: firm.advisorA.token,
      otherAdvisor: firm.advisorB.token,
      admin: firm.admin.token,
      anonymous: null,
      readKey: firm.readKey.token,
      tradeKey: firm.tradeKey.token,
    });
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    await angel?.stop();
  });

  it('has a row for every query, mutation and subscription of the schema', async () => {
    const schema = await buildAppSchema();
    const roots = { Query: schema.getQueryType(), Mutation: schema.getMutationType(), Subscription: schema.getSubscriptionType() };
    const inSchema = Object.entries(roots).flatMap(([t, type]) => Object.keys(type?.getFields() ?? {}).map((f) => `${t}.${f}`));
    const covered = new Set(ROWS.flatMap(rootFields));
    expect(inSchema.filter((op) => !covered.has(op)), 'operations without a row in test/support/access-matrix.ts').toEqual([]);
    expect(inSchema.length).toBeGreaterThan(100);
  });

  /**
   * Nothing of the owner reaches a caller who may not read it (anyone, on a public row): not the email,
   * the id, or the names of the owner's things. What the caller sent (an id to look up) is not a leak.
   */
  function assertNoLeak(row: MatrixRow, actor: Actor, vars: Record<string, unknown>, body: unknown, check: ExpectStatic = expect) {
    if (READERS.includes(actor) && !row.public) return;
    const text = JSON.stringify(body);
    const sent = JSON.stringify(vars);
    for (const secret of [firm.owner.email, firm.owner.id, secretName]) if (!sent.includes(secret)) check(text, `${actor} saw ${secret}`).not.toContain(secret);
  }

  async function runHttp(row: MatrixRow, actor: Actor, vars: Record<string, unknown>) {
    return gql(server, row.doc, vars, tokens[actor] ?? undefined);
  }

  async function runSocket(row: MatrixRow, actor: Actor, vars: Record<string, unknown>) {
    const client = wsClient(server, tokens[actor]);
    const sub = collect(client, row.doc, vars);
    try {
      if (row.expectEvent || !row.allowed.includes(actor)) {
        await waitFor(`${row.name} as ${actor}`, () => sub.items.length > 0 || sub.errors.length > 0 || sub.isDone(), 20_000);
      } else {
        // Allowed with nothing to replay: it must stay open without an error.
        await new Promise((r) => setTimeout(r, 300));
      }
      return { items: sub.items, errors: sub.errors, done: sub.isDone() };
    } finally {
      sub.dispose();
      await client.dispose();
    }
  }

  it("never shows a client the advisor's other clients: the owner stays hidden from a sibling client", async () => {
    const sibling = await newUser(server, 'sibling');
    await assign(server, firm.admin, sibling.id, firm.advisorA.id);
    const mine = await gql(server, `{ me { advisor { id email } } }`, {}, sibling.token);
    expect(mine.data?.me.advisor.id).toBe(firm.advisorA.id);
    for (const [doc, vars] of [
      [`{ me { advisor { clients { email portfolios { name } } } } }`, {}],
      [`query($id:ID!){ smallcase(id:$id){ owner { clients { email } } } }`, { id: fx.smallcaseId }],
      [`{ users { edges { node { email } } } }`, {}],
    ] as const) {
      const r = await gql(server, doc, vars, sibling.token);
      expect(r.errors?.[0]?.extensions?.code, doc).toBe('FORBIDDEN');
      assertNoLeak({ name: 'sibling', kind: 'query', doc, allowed: [], public: true }, 'otherClient', vars, r);
    }
  });

  it('answers a failed sign-in with nothing of the user it names', async () => {
    const failures = [
      [`mutation($e:String!){ login(email:$e, password:"not-the-password"){ accessToken } }`, { e: firm.owner.email }, 'INVALID_CREDENTIALS'],
      [`mutation { refreshToken(refreshToken:"not-a-token"){ accessToken } }`, {}, 'INVALID_TOKEN'],
      [`mutation($e:String!){ register(email:$e, password:"correct-horse-battery"){ accessToken } }`, { e: firm.owner.email }, 'EMAIL_TAKEN'],
    ] as const;
    for (const [doc, vars, code] of failures) {
      const r = await gql(server, doc, vars);
      expect(r.errors?.[0]?.extensions?.code, doc).toBe(code);
      expect(r.data == null || Object.values(r.data).every((v) => v === null)).toBe(true);
      const text = JSON.stringify(r);
      for (const secret of [firm.owner.id, secretName]) expect(text).not.toContain(secret);
    }
    expect((await gql(server, `mutation { logout(refreshToken:"not-a-token") }`)).data?.logout).toBe(true);
  });

  for (const row of ROWS) {
    for (const actor of ACTORS) {
      const allowed = row.allowed.includes(actor);
      // Reads share the owner's objects and change nothing: a row's callers run side by side.
      const test = row.kind === 'mutation' ? it : it.concurrent;
      test(`${row.kind} ${row.name} × ${actor} → ${allowed ? 'allowed' : `refused (${expectedRefusal(row, actor)})`}`, async ({ expect }) => {
        const vars = (await row.vars?.(fx, actor)) ?? {};
        if (row.kind === 'subscription') {
          const r = await runSocket(row, actor, vars);
          assertNoLeak(row, actor, vars, r, expect);
          if (allowed) {
            expect(r.errors).toEqual([]);
            if (row.expectEvent) expect(r.items.length).toBeGreaterThan(0);
          } else {
            const text = JSON.stringify(r.errors, (_k, v) => (v && typeof v === 'object' && 'code' in v && 'reason' in v ? { code: v.code } : v));
            // Anonymous sockets are closed with 4403 at connection_init; others get the GraphQL error.
            if (actor === 'anonymous') expect(text).toContain('4403');
            else expect(text).toContain(expectedRefusal(row, actor));
            expect(r.items).toEqual([]);
          }
          return;
        }
        const r = await runHttp(row, actor, vars);
        assertNoLeak(row, actor, vars, r, expect);
        if (allowed) {
          expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
        } else {
          expect(r.errors?.[0]?.extensions?.code).toBe(expectedRefusal(row, actor));
          const data = r.data as Record<string, unknown> | undefined;
          expect(data == null || Object.values(data).every((v) => v === null)).toBe(true);
        }
      });
    }
  }
});
