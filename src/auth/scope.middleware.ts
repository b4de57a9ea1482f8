import type { MiddlewareFn } from 'type-graphql';
import type { GqlContext } from '../resolvers/context.js';
import { assertMayMutate } from '../services/people/access.policy.js';

/**
 * Every mutation, whoever defines it and over HTTP or a socket alike: a READ-only API key is FORBIDDEN.
 * Runs on root Mutation fields only, so new mutations from any capability are covered without opting in.
 */
export const mutationScopeGuard: MiddlewareFn<GqlContext> = ({ info, context }, next) => {
  if (info.parentType.name === 'Mutation') assertMayMutate(context.principal);
  return next();
};
