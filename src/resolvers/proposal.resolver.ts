import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { BasketLine, Proposal, ProposalConnection, ProposalInput, ProposalStatus } from '../schema/proposal.type.js';
import { User } from '../schema/user.type.js';
import { Portfolio } from '../schema/portfolio.type.js';
import { Order } from '../schema/order.type.js';
import { DecimalScalar } from '../schema/scalars.js';
import { BasketRun, Smallcase } from '../schema/basket.type.js';
import { requireUser, type GqlContext } from './context.js';
import { pageInfo, pageSize } from './pagination.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { estimateLine, proposalStream, type ProposalRow } from '../services/people/proposal.service.js';
import { NotFoundError } from '../errors.js';

@Resolver(() => Proposal)
export class ProposalResolver {
  @Query(() => ProposalConnection, { description: 'Clients: proposals to them; advisors: proposals they made; admins: all. Newest first.' })
  async proposals(
    @Arg('status', () => ProposalStatus, { nullable: true, description: 'Only this status.' }) status: ProposalStatus | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last edge seen.' }) after: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    const page = await ctx.services.proposals.list(requireUser(ctx), { status, first: pageSize(first, ctx, 50), after: after ? decodeCursor(after) : null });
    const edges = page.rows.map((p) => ({ cursor: encodeCursor(p), node: p }));
    return { edges, pageInfo: pageInfo(edges, page.hasNextPage, after) };
  }

  @Query(() => Proposal, { description: 'One proposal you made, received, or (admins) any.' })
  proposal(@Arg('id', () => ID, { description: 'The proposal.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.proposals.get(requireUser(ctx), id);
  }

  @Mutation(() => Proposal, { description: "Advisor: propose trades or a smallcase for a client's portfolio; warnings check the investment profile." })
  createProposal(@Arg('input', () => ProposalInput, { description: 'The proposal.' }) input: ProposalInput, @Ctx() ctx: GqlContext) {
    return ctx.services.proposals.create(requireUser(ctx), input);
  }

  @Mutation(() => [Proposal], { description: "Advisor: propose one smallcase to many clients (all of yours when clientIds is omitted), each client's oldest portfolio." })
  proposeSmallcaseToClients(
    @Arg('smallcaseId', () => ID, { description: 'The smallcase.' }) smallcaseId: string,
    @Arg('clientIds', () => [ID], { nullable: true, description: 'Which clients; all of yours if omitted.' }) clientIds: string[] | null,
    @Arg('amount', () => DecimalScalar, { description: 'Amount each client would invest.' }) amount: string,
    @Arg('rationale', () => String, { description: 'Why.' }) rationale: string,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.proposals.proposeSmallcaseToClients(requireUser(ctx), { smallcaseId, clientIds, amount, rationale });
  }

  @Mutation(() => Proposal, { description: 'Client: approve and place its trades. The same clientRequestId again returns the same result.' })
  approveProposal(
    @Arg('id', () => ID, { description: 'The proposal.' }) id: string,
    @Arg('clientRequestId', () => String, { nullable: true, description: 'Idempotency key.' }) clientRequestId: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.proposalDecisions.approve(requireUser(ctx), id, clientRequestId);
  }

  @Mutation(() => Proposal, { description: 'Client: reject a pending proposal.' })
  rejectProposal(
    @Arg('id', () => ID, { description: 'The proposal.' }) id: string,
    @Arg('reason', () => String, { nullable: true, description: 'Why, for the advisor.' }) reason: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.proposalDecisions.reject(requireUser(ctx), id, reason);
  }

  @Mutation(() => Proposal, { description: 'Advisor: withdraw a pending proposal.' })
  cancelProposal(@Arg('id', () => ID, { description: 'The proposal.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.proposalDecisions.cancel(requireUser(ctx), id);
  }

  @Subscription(() => Proposal, {
    description: 'Every change of a proposal you made or received (creation, decision, expiry, execution).',
    subscribe: ({ context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) => proposalStream(context.services.pubsub, requireUser(context)),
  })
  async proposalUpdated(@Root() m: { proposalId: string; status: string }, @Ctx() ctx: GqlContext) {
    // Read fresh (and access-checked), but report the status this push is about, so no change is skipped.
    const p = await ctx.services.proposals.get(requireUser(ctx), m.proposalId);
    return { ...p, status: m.status };
  }

  @FieldResolver(() => User, { description: 'Who proposed it.' })
  async advisor(@Root() p: ProposalRow, @Ctx() ctx: GqlContext) {
    const u = await ctx.loaders.user.load(p.advisorId);
    if (!u) throw new NotFoundError('User', p.advisorId);
    return u;
  }

  @FieldResolver(() => User, { description: 'For whom.' })
  async client(@Root() p: ProposalRow, @Ctx() ctx: GqlContext) {
    const u = await ctx.loaders.user.load(p.clientId);
    if (!u) throw new NotFoundError('User', p.clientId);
    return u;
  }

  @FieldResolver(() => Portfolio, { description: 'The portfolio it trades in.' })
  portfolio(@Root() p: ProposalRow, @Ctx() ctx: GqlContext) {
    return ctx.services.portfolios.get(requireUser(ctx), p.portfolioId);
  }

  @FieldResolver(() => [BasketLine], { description: 'The proposed trades (explicit lines), with estimated prices.' })
  async lines(@Root() p: ProposalRow, @Ctx() ctx: GqlContext) {
    return Promise.all(
      p.lines.map(async (l) => {
        const instrument = await ctx.services.instruments.resolve(l.symbol!, l.exchange);
        const last = ctx.services.instruments.quoteOf(instrument)?.last ?? null;
        return { instrumentId: instrument.id, instrument, side: l.side, quantity: l.quantity, ...estimateLine({ limitPrice: l.limitPrice, quantity: l.quantity! }, last), targetWeight: null, resultingWeight: null };
      }),
    );
  }

  @FieldResolver(() => Smallcase, { nullable: true, description: 'The smallcase proposed, for a smallcase proposal.' })
  smallcase(@Root() p: ProposalRow, @Ctx() ctx: GqlContext) {
    // The proposal was access-checked; its client sees the smallcase they were offered.
    return p.smallcaseId ? ctx.services.baskets.smallcases.byId(p.smallcaseId) : null;
  }

  @FieldResolver(() => BasketRun, { nullable: true, description: 'The basket run placed on approval (smallcase proposals).' })
  run(@Root() p: ProposalRow, @Ctx() ctx: GqlContext) {
    return p.runId ? ctx.services.baskets.runs.get(requireUser(ctx), p.runId) : null;
  }

  @FieldResolver(() => [Order], { description: 'Orders placed on approval (explicit lines).' })
  async orders(@Root() p: ProposalRow, @Ctx() ctx: GqlContext) {
    const viewer = requireUser(ctx);
    return Promise.all(p.orderIds.map((id) => ctx.services.orders.get(viewer, id)));
  }
}
