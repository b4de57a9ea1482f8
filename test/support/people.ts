import type { TestServer } from './server.js';
import { must, newUser } from './gql.js';
import { createFundedPortfolio } from './trading.js';

export type Person = Awaited<ReturnType<typeof newUser>>;

let n = 0;
/** A unique ADMIN_EMAIL for a test server. */
export function adminEmail(): string {
  return `admin-${Date.now()}-${++n}@firm.example`;
}

/** Register the configured admin (ADMIN_EMAIL makes them ADMIN on registration). */
export async function registerAdmin(server: TestServer): Promise<Person> {
  const email = server.config.people.adminEmail!;
  const d = await must<{ register: { accessToken: string; refreshToken: string; user: { id: string; role: string } } }>(
    server,
    `mutation($e:String!,$p:String!){ register(email:$e,password:$p,name:"Admin"){ accessToken refreshToken user{ id role } } }`,
    { e: email, p: 'correct-horse-battery' },
  );
  if (d.register.user.role !== 'ADMIN') throw new Error('ADMIN_EMAIL was not promoted');
  return { email, password: 'correct-horse-battery', token: d.register.accessToken, refreshToken: d.register.refreshToken, id: d.register.user.id };
}

export async function setRole(server: TestServer, admin: Person, userId: string, role: string) {
  return must(server, `mutation($u:ID!,$r:Role!){ setUserRole(userId:$u, role:$r){ id role } }`, { u: userId, r: role }, admin.token);
}

export async function assign(server: TestServer, admin: Person, clientId: string, advisorId: string | null) {
  return must(server, `mutation($c:ID!,$a:ID){ assignAdvisor(clientId:$c, advisorId:$a){ id advisor { id } } }`, { c: clientId, a: advisorId }, admin.token);
}

export async function createApiKey(server: TestServer, who: Person, scopes: string[]) {
  const d = await must<{ createApiKey: { secret: string; apiKey: { id: string; prefix: string } } }>(
    server,
    `mutation($n:String!,$s:[ApiKeyScope!]!){ createApiKey(name:$n, scopes:$s){ secret apiKey { id prefix scopes } } }`,
    { n: `bot-${scopes.join('-')}`, s: scopes },
    who.token,
  );
  return { token: d.createApiKey.secret, id: d.createApiKey.apiKey.id };
}

/**
 * A small firm: an admin, two advisors, a client of advisor A (the owner, with a funded portfolio), a
 * client of advisor B, and READ and TRADE keys of the owner.
 */
export async function setupFirm(server: TestServer) {
  const admin = await registerAdmin(server);
  const [advisorA, advisorB, owner, otherClient] = await Promise.all([
    newUser(server, 'advisor-a'),
    newUser(server, 'advisor-b'),
    newUser(server, 'owner'),
    newUser(server, 'other-client'),
  ]);
  await setRole(server, admin, advisorA.id, 'ADVISOR');
  await setRole(server, admin, advisorB.id, 'ADVISOR');
  await assign(server, admin, owner.id, advisorA.id);
  await assign(server, admin, otherClient.id, advisorB.id);
  const portfolioId = await createFundedPortfolio(server, owner.token, { amount: '1000000' });
  const otherPortfolioId = await createFundedPortfolio(server, otherClient.token, { amount: '1000000' });
  const readKey = await createApiKey(server, owner, ['READ']);
  const tradeKey = await createApiKey(server, owner, ['TRADE']);
  return { admin, advisorA, advisorB, owner, otherClient, portfolioId, otherPortfolioId, readKey, tradeKey };
}
