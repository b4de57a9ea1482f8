import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
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

/**
 * The same guard put directly on the schema's root Mutation fields (their resolvers wrapped once at
 * build time). A type-graphql global middleware runs on EVERY field and makes each one async (two
 * promises per field: a 2,600-point series paid it 13,000 times); this costs nothing off the Mutation type.
 */
export function guardMutationScopes(schema: GraphQLSchema): GraphQLSchema {
  const fields = schema.getMutationType()?.getFields() ?? {};
  for (const field of Object.values(fields)) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (source, args, context: GqlContext, info) => {
      assertMayMutate(context.principal);
      return resolve(source, args, context, info);
    };
  }
  return schema;
}
