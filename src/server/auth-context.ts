import type { Services } from '../services/index.js';
import type { GqlContext } from '../resolvers/context.js';
import { createLoaders } from '../resolvers/loaders.js';
import { bearer } from '../auth/tokens.js';
import { UnauthenticatedError } from '../errors.js';

/** The caller's principal from a bearer token: null when none was sent, 'invalid' when one was sent but is bad. */
export async function principalFrom(services: Services, header: string | undefined | null) {
  const token = bearer(header);
  if (!token) return null;
  return (await services.principals.resolve(token)) ?? ('invalid' as const);
}

export function contextFor(services: Services, principal: Awaited<ReturnType<typeof principalFrom>>): GqlContext {
  if (principal === 'invalid') {
    // Let login/register work with a stale header, but make every authenticated field say why it failed.
    return { principal: null, services, loaders: createLoaders(services), authError: new UnauthenticatedError('Invalid or expired access token') };
  }
  return { principal, services, loaders: createLoaders(services) };
}

