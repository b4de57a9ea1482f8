import { describe, expect, it } from 'vitest';
import { allows, assertMayMutate, type AccessAction } from './access.policy.js';
import type { Principal } from '../../auth/tokens.js';

const owner = { id: 'client-1', advisorId: 'advisor-1' };
const who: Record<string, Principal> = {
  owner: { userId: 'client-1', role: 'CLIENT' },
  otherClient: { userId: 'client-2', role: 'CLIENT' },
  ownersAdvisor: { userId: 'advisor-1', role: 'ADVISOR' },
  otherAdvisor: { userId: 'advisor-2', role: 'ADVISOR' },
  admin: { userId: 'admin-1', role: 'ADMIN' },
};

const table: Record<AccessAction, string[]> = {
  read: ['owner', 'ownersAdvisor', 'admin'],
  profile: ['owner', 'ownersAdvisor'],
  advise: ['ownersAdvisor'],
  trade: ['owner'],
};

describe('the access policy', () => {
  for (const [action, allowed] of Object.entries(table) as [AccessAction, string[]][]) {
    for (const [name, p] of Object.entries(who)) {
      it(`${allowed.includes(name) ? 'lets' : 'refuses'} ${name} ${action}`, () => {
        expect(allows(p, owner, action)).toBe(allowed.includes(name));
      });
    }
  }

  it('treats a user who once was an advisor but no longer holds the role as a stranger', () => {
    expect(allows({ userId: 'advisor-1', role: 'CLIENT' }, owner, 'read')).toBe(false);
  });

  it('lets a READ key query but not mutate, and a TRADE key do both', () => {
    expect(() => assertMayMutate({ userId: 'u', role: 'CLIENT', scopes: ['READ'], apiKeyId: 'k' })).toThrow(/READ scope/);
    expect(() => assertMayMutate({ userId: 'u', role: 'CLIENT', scopes: ['READ', 'TRADE'], apiKeyId: 'k' })).not.toThrow();
    expect(() => assertMayMutate({ userId: 'u', role: 'CLIENT' })).not.toThrow();
  });
});
