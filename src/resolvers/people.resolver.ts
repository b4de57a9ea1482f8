import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Role, User } from '../schema/user.type.js';
import { Portfolio } from '../schema/portfolio.type.js';
import { InvestmentProfile, InvestmentProfileInput, UserConnection } from '../schema/people.type.js';
import { requireUser, type GqlContext } from './context.js';
import { pageInfo, pageSize } from './pagination.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { UserRow } from '../services/user.service.js';
import type { PortfolioRow } from '../services/portfolio.service.js';

/** Users, roles and advisor assignments (rules in PeopleService). */
@Resolver(() => User)
export class PeopleResolver {
  @Query(() => UserConnection, { description: 'Admins: every user; advisors: their own clients. Newest first.' })
  async users(
    @Arg('role', () => Role, { nullable: true, description: 'Only users with this role.' }) role: Role | null,
    @Arg('search', () => String, { nullable: true, description: 'Part of an email or name.' }) search: string | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last edge seen.' }) after: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    const page = await ctx.services.people.list(requireUser(ctx), { role, search, first: pageSize(first, ctx, 50), after: after ? decodeCursor(after) : null });
    const edges = page.rows.map((u) => ({ cursor: encodeCursor(u), node: u }));
    return { edges, pageInfo: pageInfo(edges, page.hasNextPage, after) };
  }

  @Mutation(() => User, { description: "Admin: change a user's role. Demoting an advisor unassigns their clients." })
  setUserRole(@Arg('userId', () => ID, { description: 'Whom.' }) userId: string, @Arg('role', () => Role, { description: 'The new role.' }) role: Role, @Ctx() ctx: GqlContext) {
    return ctx.services.people.setRole(requireUser(ctx), userId, role);
  }

  @Mutation(() => User, { description: 'Admin: assign a client to an advisor; null unassigns.' })
  assignAdvisor(
    @Arg('clientId', () => ID, { description: 'The client.' }) clientId: string,
    @Arg('advisorId', () => ID, { nullable: true, description: 'The advisor, or null to unassign.' }) advisorId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.people.assignAdvisor(requireUser(ctx), clientId, advisorId ?? null);
  }

  @FieldResolver(() => [User], { description: "An advisor's clients (for the advisor and admins)." })
  clients(@Root() user: UserRow, @Ctx() ctx: GqlContext) {
    return ctx.services.people.clientsOf(requireUser(ctx), user);
  }

  @FieldResolver(() => [Portfolio], { description: "The user's portfolios (for the user, their advisor and admins)." })
  portfolios(@Root() user: UserRow, @Ctx() ctx: GqlContext) {
    return ctx.services.people.portfoliosOf(requireUser(ctx), user);
  }
}

@Resolver(() => Portfolio)
export class PortfolioProfileResolver {
  @FieldResolver(() => InvestmentProfile, { nullable: true, description: 'The investment profile, if one was set.' })
  investmentProfile(@Root() p: PortfolioRow, @Ctx() ctx: GqlContext) {
    return ctx.loaders.profile.load(p.id);
  }

  @Mutation(() => Portfolio, { description: "Set a portfolio's investment profile (its owner or the owner's advisor)." })
  async setInvestmentProfile(
    @Arg('portfolioId', () => ID, { description: 'The portfolio.' }) portfolioId: string,
    @Arg('input', () => InvestmentProfileInput, { description: 'The profile.' }) input: InvestmentProfileInput,
    @Ctx() ctx: GqlContext,
  ) {
    const viewer = requireUser(ctx);
    await ctx.services.profiles.set(viewer, portfolioId, input);
    return ctx.services.portfolios.get(viewer, portfolioId);
  }
}
