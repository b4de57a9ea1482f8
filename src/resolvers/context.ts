import type { Principal } from '../auth/tokens.js';
import { UnauthenticatedError } from '../errors.js';
import type { Services } from '../services/index.js';
import type { Loaders } from './loaders.js';

/** What every resolver receives: who is calling (same on HTTP and sockets) and the services. */
export interface GqlContext {
  principal: Principal | null;
  services: Services;
  loaders: Loaders;
  /** Set when a token was sent but is invalid or expired: authenticated fields report this. */
  authError?: UnauthenticatedError;
}

export function requireUser(ctx: GqlContext): Principal {
  if (!ctx.principal) throw ctx.authError ?? new UnauthenticatedError();
  return ctx.principal;
}
