import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ApiKey, ApiKeyScope, ApiKeySecret } from '../schema/people.type.js';
import { requireUser, type GqlContext } from './context.js';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => [ApiKey], { description: 'Your API keys, newest first (secrets are never shown again).' })
  apiKeys(@Ctx() ctx: GqlContext) {
    return ctx.services.apiKeys.list(requireUser(ctx));
  }

  @Mutation(() => ApiKeySecret, { description: 'Create an API key; the secret (tg_…) is in this answer only.' })
  createApiKey(
    @Arg('name', () => String, { description: 'A label.' }) name: string,
    @Arg('scopes', () => [ApiKeyScope], { description: 'READ, TRADE (TRADE implies READ).' }) scopes: ApiKeyScope[],
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.apiKeys.create(requireUser(ctx), name, scopes);
  }

  @Mutation(() => ApiKey, { description: 'Revoke one of your API keys; it stops working at once.' })
  revokeApiKey(@Arg('id', () => ID, { description: 'The key.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.apiKeys.revoke(requireUser(ctx), id);
  }
}
