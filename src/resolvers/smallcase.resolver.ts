import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { BasketPlan, BasketLine, Constituent, CreateSmallcaseInput, Smallcase, UpdateSmallcaseInput } from '../schema/basket.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { User } from '../schema/user.type.js';
import { DecimalScalar } from '../schema/scalars.js';
import { requireUser, type GqlContext } from './context.js';
import { planToGql } from './basket.mapping.js';
import { instrumentOf } from './loaders.js';
import { NotFoundError } from '../errors.js';
import { canSeeUserRecord } from '../services/people/access.policy.js';
import type { SmallcaseRow, ConstituentRow } from '../services/baskets/smallcase.service.js';

/** Smallcases: versioned weighted baskets (create, update = new version, archive; previews of an investment). */
@Resolver(() => Smallcase)
export class SmallcaseResolver {
  @Query(() => [Smallcase], { description: 'Your smallcases and (unless includePublic is false) the public ones, by name.' })
  smallcases(
    @Arg('search', () => String, { nullable: true, description: 'Part of the name.' }) search: string | null,
    @Arg('includePublic', () => Boolean, { nullable: true, defaultValue: true, description: 'Include other users’ public smallcases.' }) includePublic: boolean,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.smallcases.list(requireUser(ctx), { search, includePublic });
  }

  @Query(() => Smallcase, { description: 'One smallcase: yours or a public one.' })
  smallcase(@Arg('id', () => ID, { description: 'Smallcase id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.smallcases.get(requireUser(ctx), id);
  }

  @Query(() => BasketPlan, { description: 'What investing `amount` would buy, at live prices; nothing is written. Below the minimum: BAD_USER_INPUT / BELOW_MINIMUM_INVESTMENT.' })
  async previewInvestment(
    @Arg('smallcaseId', () => ID, { description: 'Smallcase id.' }) smallcaseId: string,
    @Arg('portfolioId', () => ID, { description: 'The portfolio to invest from.' }) portfolioId: string,
    @Arg('amount', () => DecimalScalar, { description: 'Amount in the portfolio’s currency.' }) amount: string,
    @Ctx() ctx: GqlContext,
  ) {
    return planToGql(await ctx.services.baskets.investments.previewInvestment(requireUser(ctx), smallcaseId, portfolioId, amount));
  }

  @Mutation(() => Smallcase, { description: 'Create a smallcase (version 1, index 100).' })
  createSmallcase(@Arg('input', () => CreateSmallcaseInput, { description: 'The smallcase.' }) input: CreateSmallcaseInput, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.smallcases.create(requireUser(ctx), input);
  }

  @Mutation(() => Smallcase, { description: 'Change a smallcase you own; new constituents make a new version (investors see rebalanceAvailable).' })
  updateSmallcase(
    @Arg('id', () => ID, { description: 'Smallcase id.' }) id: string,
    @Arg('input', () => UpdateSmallcaseInput, { description: 'The changes.' }) input: UpdateSmallcaseInput,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.smallcases.update(requireUser(ctx), id, input);
  }

  @Mutation(() => Smallcase, { description: 'Archive a smallcase you own: no new investments.' })
  archiveSmallcase(@Arg('id', () => ID, { description: 'Smallcase id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.smallcases.archive(requireUser(ctx), id);
  }

  @FieldResolver(() => User, {
    description: 'Who made it, shown as any user record is (the access policy): to the owner, the owner’s advisor, an admin, and a client whose advisor made it. Anyone else (another user’s public smallcase) gets NOT_FOUND.',
  })
  async owner(@Root() sc: SmallcaseRow, @Ctx() ctx: GqlContext) {
    const viewer = requireUser(ctx);
    const u = sc.ownerId ? await ctx.loaders.user.load(sc.ownerId) : null;
    const mine = u && u.id !== viewer.userId && viewer.role === 'CLIENT' ? await ctx.loaders.user.load(viewer.userId) : null;
    // No id in the error: the owner's id is not the caller's to learn either.
    if (!u || !canSeeUserRecord(viewer, u, mine?.advisorId ?? null)) throw new NotFoundError('User');
    return u;
  }

  @FieldResolver(() => [Constituent], { description: 'The current version’s constituents, heaviest first.' })
  async constituents(@Root() sc: SmallcaseRow, @Ctx() ctx: GqlContext): Promise<ConstituentRow[]> {
    return ctx.services.baskets.smallcases.constituents(sc.id, sc.version);
  }

  @FieldResolver(() => DecimalScalar, { description: 'The smallest amount that buys at least one lot of every constituent at its weight, from live prices (with the market buffer and fee bound).' })
  async minimumInvestment(@Root() sc: SmallcaseRow, @Ctx() ctx: GqlContext) {
    return (await ctx.services.baskets.smallcases.minimumInvestment(sc)).toFixed(2);
  }

  @FieldResolver(() => DecimalScalar, { nullable: true, description: '100 at creation, following the constituents’ prices (chained across versions).' })
  async indexValue(@Root() sc: SmallcaseRow, @Ctx() ctx: GqlContext) {
    return (await ctx.services.baskets.smallcases.indexValue(sc)).toFixed(4);
  }

  @FieldResolver(() => String, { nullable: true, description: 'Why the current version was made.' })
  rationale(@Root() sc: SmallcaseRow, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.smallcases.rationale(sc.id, sc.version);
  }
}

@Resolver(() => Constituent)
export class ConstituentResolver {
  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() c: { instrumentId: string }, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, c.instrumentId);
  }
}

@Resolver(() => BasketLine)
export class BasketLineResolver {
  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() c: { instrumentId: string }, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, c.instrumentId);
  }
}
