import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { AuthPayload, User } from '../schema/user.type.js';
import { requireUser, type GqlContext } from './context.js';
import { NotFoundError } from '../errors.js';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, { description: 'Create a CLIENT account and log in. Passwords: at least 10 characters.' })
  register(
    @Arg('email', () => String, { description: 'Email address to log in with (unique, case-insensitive).' }) email: string,
    @Arg('password', () => String, { description: 'At least 10 characters.' }) password: string,
    @Arg('name', () => String, { nullable: true, description: 'Display name (up to 200 characters).' }) name: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.auth.register({ email, password, name });
  }

  @Mutation(() => AuthPayload, { description: 'Log in with email and password.' })
  login(
    @Arg('email', () => String, { description: 'The email you registered with.' }) email: string,
    @Arg('password', () => String, { description: 'Your password.' }) password: string,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.auth.login(email, password);
  }

  @Mutation(() => AuthPayload, { description: 'Exchange a refresh token for a new access and refresh token (rotation).' })
  refreshToken(@Arg('refreshToken', () => String, { description: 'The refresh token from login or the last refresh (spent by this call).' }) refreshToken: string, @Ctx() ctx: GqlContext) {
    return ctx.services.auth.refresh(refreshToken);
  }

  @Mutation(() => Boolean, { description: 'Revoke this refresh token and every token rotated from the same login.' })
  async logout(@Arg('refreshToken', () => String, { description: 'A refresh token of the login to end; its sockets close with 4403.' }) refreshToken: string, @Ctx() ctx: GqlContext) {
    await ctx.services.auth.logout(refreshToken);
    return true;
  }

  @Query(() => User, { description: 'The authenticated user.' })
  async me(@Ctx() ctx: GqlContext) {
    const p = requireUser(ctx);
    const u = await ctx.services.users.byId(p.userId);
    if (!u) throw new NotFoundError('User', p.userId);
    return u;
  }
}
