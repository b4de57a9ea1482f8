import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { selectedFields } from './lookahead.js';
import { Portfolio, Position } from '../schema/portfolio.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { OrderConnection, OrderStatus } from '../schema/order.type.js';
import { User } from '../schema/user.type.js';
import { DecimalScalar } from '../schema/scalars.js';
import { requireUser, type GqlContext } from './context.js';
import { pageInfo, pageSize } from './pagination.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { fmt, fmtAvailable } from '../lib/decimal.js';
import { positionsValue, totalValue, type PortfolioRow } from '../services/portfolio.service.js';
import { NotFoundError } from '../errors.js';
import { instrumentOf } from './loaders.js';

@Resolver(() => Portfolio)
export class PortfolioResolver {
  @Query(() => [Portfolio], { description: "Your portfolios (an advisor also sees their clients')." })
  portfolios(@Ctx() ctx: GqlContext) {
    return ctx.services.portfolios.list(requireUser(ctx));
  }

  @Query(() => Portfolio, { description: 'One portfolio you may see.' })
  async portfolio(@Arg('id', () => ID, { description: 'The portfolio; NOT_FOUND unless you may see it.' }) id: string, @Ctx() ctx: GqlContext, @Info() info: GraphQLResolveInfo) {
    // What the selection needs (balances, positions) comes in the access check's statement and primes the loaders.
    const asked = selectedFields(info);
    const want = { balances: asked.has('cash') || asked.has('availableCash') || asked.has('totalValue'), positions: asked.has('positions') || asked.has('marketValue') || asked.has('totalValue') };
    if (!want.balances && !want.positions) return ctx.services.portfolios.get(requireUser(ctx), id);
    const r = await ctx.services.portfolios.getWithDetails(requireUser(ctx), id, want);
    if (r.balances) ctx.loaders.balances.prime(r.row.id, r.balances);
    if (r.positions) ctx.loaders.positions.prime(r.row.id, r.positions);
    return r.row;
  }

  @Mutation(() => Portfolio, { description: "Create a portfolio. broker defaults to 'paper', baseCurrency to INR." })
  createPortfolio(
    @Arg('name', () => String, { description: 'A name for it (shown to you only).' }) name: string,
    @Arg('broker', () => String, { nullable: true, description: "Broker adapter that executes its orders; 'paper' when omitted." }) broker: string | null,
    @Arg('baseCurrency', () => String, { nullable: true, description: 'ISO 4217 currency of its cash (INR, USD); INR when omitted.' }) baseCurrency: string | null,
    @Arg('brokerConnectionId', () => ID, { nullable: true, description: 'Trade through this broker connection (from startBrokerConnection).' })
    brokerConnectionId: string | null,
    @Ctx() ctx: GqlContext,
    @Arg('pooledAccountId', () => ID, { nullable: true, description: 'Make it a member of this pooled master account: its orders are aggregated and sent by the account.' })
    pooledAccountId?: string | null,
  ) {
    if (pooledAccountId) return ctx.services.pooled.createMemberPortfolio(requireUser(ctx), pooledAccountId, { name, baseCurrency, broker, brokerConnectionId });
    return ctx.services.portfolios.create(requireUser(ctx), { name, broker, baseCurrency, brokerConnectionId });
  }

  @Mutation(() => Portfolio, { description: 'Add cash (paper funding). Amount > 0 with at most 2 decimals.' })
  deposit(
    @Arg('portfolioId', () => ID, { description: 'Your portfolio to fund.' }) portfolioId: string,
    @Arg('amount', () => DecimalScalar, { description: 'Cash to add, > 0, at most 2 decimals.' }) amount: string,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.portfolios.deposit(requireUser(ctx), portfolioId, amount);
  }

  @Mutation(() => Portfolio, { description: 'Take cash out; never more than the available cash.' })
  withdraw(
    @Arg('portfolioId', () => ID, { description: 'Your portfolio to take cash from.' }) portfolioId: string,
    @Arg('amount', () => DecimalScalar, { description: 'Cash to take out, > 0, at most the available cash.' }) amount: string,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.portfolios.withdraw(requireUser(ctx), portfolioId, amount);
  }

  @FieldResolver(() => User, { description: 'Who owns it.' })
  async owner(@Root() p: PortfolioRow, @Ctx() ctx: GqlContext) {
    const u = await ctx.loaders.user.load(p.ownerId);
    if (!u) throw new NotFoundError('User', p.ownerId);
    return u;
  }

  @FieldResolver(() => DecimalScalar, { description: 'Settled cash: the sum of the ledger.' })
  async cash(@Root() p: PortfolioRow, @Ctx() ctx: GqlContext) {
    return fmt((await ctx.loaders.balances.load(p.id)).cash, 2);
  }

  @FieldResolver(() => DecimalScalar, { description: 'Cash minus holds for open buy orders.' })
  async availableCash(@Root() p: PortfolioRow, @Ctx() ctx: GqlContext) {
    return fmtAvailable((await ctx.loaders.balances.load(p.id)).available);
  }

  @FieldResolver(() => DecimalScalar, { description: 'Positions at market.' })
  async marketValue(@Root() p: PortfolioRow, @Ctx() ctx: GqlContext) {
    return fmt(positionsValue(await ctx.loaders.positions.load(p.id)), 2);
  }

  @FieldResolver(() => DecimalScalar, { description: 'cash + marketValue.' })
  async totalValue(@Root() p: PortfolioRow, @Ctx() ctx: GqlContext) {
    const [b, positions] = await Promise.all([ctx.loaders.balances.load(p.id), ctx.loaders.positions.load(p.id)]);
    return fmt(totalValue(b.cash, positions), 2);
  }

  @FieldResolver(() => [Position], { description: 'Open positions (and closed ones with realised P&L).' })
  positions(@Root() p: PortfolioRow, @Ctx() ctx: GqlContext) {
    return ctx.loaders.positions.load(p.id);
  }

  @FieldResolver(() => OrderConnection, { description: 'Orders, newest first.' })
  async orders(
    @Root() p: PortfolioRow,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (default 50, at most MAX_PAGE_SIZE).' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page.' }) after: string | null,
    @Arg('status', () => [OrderStatus], { nullable: true, description: 'Only orders in these statuses.' }) status: OrderStatus[] | null,
    @Ctx() ctx: GqlContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    // Asked-for fills come in the page's statement and prime the fills loader (one round trip, not two).
    const withFills = selectedFields(info, ['edges', 'node']).has('fills');
    const page = await ctx.services.orders.listForPortfolio(p.id, { first: pageSize(first, ctx, 50), after: after ? decodeCursor(after) : null, status, withFills });
    if (page.fills) for (const [orderId, list] of page.fills) ctx.loaders.fills.prime(orderId, list);
    const edges = page.rows.map((o) => ({ cursor: encodeCursor(o), node: o }));
    return { edges, pageInfo: pageInfo(edges, page.hasNextPage, after) };
  }
}

@Resolver(() => Position)
export class PositionResolver {
  @FieldResolver(() => Instrument, { description: 'What is held.' })
  instrument(@Root() p: Position, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, p.instrumentId);
  }
}
