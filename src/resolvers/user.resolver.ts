import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { User } from '../schema/user.type.js';
import type { GqlContext } from './context.js';
import { canSeeUser } from '../services/user.service.js';

@Resolver(() => User)
export class UserResolver {
  @FieldResolver(() => User, { nullable: true, description: 'The advisor assigned to this user, if any.' })
  async advisor(@Root() user: User, @Ctx() ctx: GqlContext) {
    if (!user.advisorId || !ctx.principal) return null;
    const a = await ctx.loaders.user.load(user.advisorId);
    // A client may see their own advisor; otherwise the usual visibility rules apply.
    if (!a) return null;
    return ctx.principal.userId === user.id || canSeeUser(ctx.principal, a) ? a : null;
  }
}
