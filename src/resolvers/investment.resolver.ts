import { Arg, Ctx, FieldResolver, Float, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { BasketPlan, BasketRun, InvestmentHolding, InvestmentStatus, Smallcase, SmallcaseInvestment, TargetLine } from '../schema/basket.type.js';
import { Portfolio } from '../schema/portfolio.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { DecimalScalar } from '../schema/scalars.js';
import { requireUser, type GqlContext } from './context.js';
import { planToGql } from './basket.mapping.js';
import { instrumentOf } from './loaders.js';
import type { InvestmentRow } from '../services/baskets/investment.repository.js';

const CRID = 'Idempotency key: the same key with the same parameters returns the first result; with others, IDEMPOTENCY_CONFLICT.';

/** Investments in smallcases and the basket runs that move them; target portfolios. */
@Resolver(() => SmallcaseInvestment)
export class InvestmentResolver {
  @Query(() => [SmallcaseInvestment], { description: 'Your investments (of one portfolio, or all).' })
  investments(@Arg('portfolioId', () => ID, { nullable: true, description: 'One portfolio; all of yours if omitted.' }) portfolioId: string | null, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.investments.list(requireUser(ctx), portfolioId);
  }

  @Query(() => SmallcaseInvestment, { description: 'One of your investments.' })
  investment(@Arg('id', () => ID, { description: 'Investment id.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.investments.get(requireUser(ctx), id);
  }

  @Query(() => BasketPlan, { description: 'What rebalancing to the smallcase’s current version would do (sells, then buys on the estimated proceeds).' })
  async previewRebalance(@Arg('investmentId', () => ID, { description: 'Investment id.' }) investmentId: string, @Ctx() ctx: GqlContext) {
    return planToGql(await ctx.services.baskets.investments.previewRebalance(requireUser(ctx), investmentId));
  }

  @Query(() => BasketPlan, { description: 'What a target portfolio would do; nothing is written.' })
  async previewTargetPortfolio(
    @Arg('portfolioId', () => ID, { description: 'Portfolio id.' }) portfolioId: string,
    @Arg('targets', () => [TargetLine], { description: 'Targets by quantity or weight.' }) targets: TargetLine[],
    @Ctx() ctx: GqlContext,
  ) {
    return planToGql(await ctx.services.baskets.targets.preview(requireUser(ctx), portfolioId, targets));
  }

  @Mutation(() => SmallcaseInvestment, { description: 'Invest an amount in a smallcase: one INVEST run of whole-lot buys that never cost more than the amount.' })
  investInSmallcase(
    @Arg('smallcaseId', () => ID, { description: 'Smallcase id.' }) smallcaseId: string,
    @Arg('portfolioId', () => ID, { description: 'Portfolio to invest from (same currency).' }) portfolioId: string,
    @Arg('amount', () => DecimalScalar, { description: 'Amount, at least minimumInvestment.' }) amount: string,
    @Arg('clientRequestId', () => String, { nullable: true, description: CRID }) clientRequestId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.investments.invest(requireUser(ctx), smallcaseId, portfolioId, amount, clientRequestId);
  }

  @Mutation(() => BasketRun, { description: 'Add an amount to an investment, bought towards its target weights.' })
  investMore(
    @Arg('investmentId', () => ID, { description: 'Investment id.' }) investmentId: string,
    @Arg('amount', () => DecimalScalar, { description: 'Amount to add.' }) amount: string,
    @Arg('clientRequestId', () => String, { nullable: true, description: CRID }) clientRequestId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.investments.investMore(requireUser(ctx), investmentId, amount, clientRequestId);
  }

  @Mutation(() => BasketRun, { description: 'Rebalance to the smallcase’s current version: sells first, buys sized on what they raised; trades under the minimum ticket are skipped. INVALID_STATE while another run of it is in flight.' })
  rebalanceSmallcase(
    @Arg('investmentId', () => ID, { description: 'Investment id.' }) investmentId: string,
    @Arg('clientRequestId', () => String, { nullable: true, description: CRID }) clientRequestId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.investments.rebalance(requireUser(ctx), investmentId, clientRequestId);
  }

  @Mutation(() => BasketRun, { description: 'Place what is missing to reach the target quantities (NEEDS_REPAIR or OUT_OF_SYNC investments).' })
  repairInvestment(
    @Arg('investmentId', () => ID, { description: 'Investment id.' }) investmentId: string,
    @Arg('clientRequestId', () => String, { nullable: true, description: CRID }) clientRequestId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.investments.repair(requireUser(ctx), investmentId, clientRequestId);
  }

  @Mutation(() => BasketRun, { description: 'Sell a fraction (0 < fraction ≤ 1) of every holding, keeping the weights.' })
  exitSmallcase(
    @Arg('investmentId', () => ID, { description: 'Investment id.' }) investmentId: string,
    @Arg('fraction', () => DecimalScalar, { description: '0 < fraction ≤ 1; 1 exits completely.' }) fraction: string,
    @Arg('clientRequestId', () => String, { nullable: true, description: CRID }) clientRequestId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.investments.exit(requireUser(ctx), investmentId, fraction, clientRequestId);
  }

  @Mutation(() => BasketRun, { description: 'Move a portfolio to target quantities or weights: deltas against current positions become sells, then buys.' })
  executeTargetPortfolio(
    @Arg('portfolioId', () => ID, { description: 'Portfolio id.' }) portfolioId: string,
    @Arg('targets', () => [TargetLine], { description: 'Targets by quantity or weight.' }) targets: TargetLine[],
    @Arg('clientRequestId', () => String, { nullable: true, description: CRID }) clientRequestId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.baskets.targets.execute(requireUser(ctx), portfolioId, targets, clientRequestId);
  }

  @FieldResolver(() => Smallcase, { description: 'The smallcase.' })
  smallcase(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.investments.smallcaseOf(inv);
  }

  @FieldResolver(() => Portfolio, { description: 'The portfolio holding it.' })
  portfolio(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return ctx.services.portfolios.get(requireUser(ctx), inv.portfolioId);
  }

  @FieldResolver(() => InvestmentStatus, { description: 'Where it stands (OUT_OF_SYNC when the portfolio no longer covers its holdings).' })
  status(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.investments.effectiveStatus(inv);
  }

  @FieldResolver(() => [InvestmentHolding], { description: 'Its own holdings, valued at last prices.' })
  async holdings(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return (await ctx.services.baskets.investments.valuation(inv)).holdings;
  }

  @FieldResolver(() => DecimalScalar, { description: 'Σ holdings at last prices.' })
  async currentValue(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return (await ctx.services.baskets.investments.valuation(inv)).currentValue.toFixed(2);
  }

  @FieldResolver(() => Float, { description: 'max |current weight − target weight|.' })
  async drift(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return (await ctx.services.baskets.investments.valuation(inv)).drift;
  }

  @FieldResolver(() => Boolean, { description: 'The smallcase has a newer version than this investment follows.' })
  async rebalanceAvailable(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return (await ctx.services.baskets.investments.smallcaseOf(inv)).version > inv.version;
  }

  @FieldResolver(() => [BasketRun], { description: 'Its runs, newest first.' })
  runs(@Root() inv: InvestmentRow, @Ctx() ctx: GqlContext) {
    return ctx.services.baskets.runs.runsOfInvestment(inv.id);
  }
}

@Resolver(() => InvestmentHolding)
export class InvestmentHoldingResolver {
  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() h: { instrumentId: string }, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, h.instrumentId);
  }
}
