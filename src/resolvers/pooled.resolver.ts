import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ParentOrder, ParentOrderConnection, PooledAccount, ReconciliationLine } from '../schema/pooled.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { Order } from '../schema/order.type.js';
import { Portfolio } from '../schema/portfolio.type.js';
import { BrokerConnection } from '../schema/broker.type.js';
import { requireUser, type GqlContext } from './context.js';
import { pageInfo, pageSize } from './pagination.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { OrderRow } from '../services/orders/order.snapshot.js';
import type { ParentOrderRow, PooledAccountRow } from '../services/pooled/pooled.repository.js';
import type { ReconciliationLine as Line } from '../services/pooled/pooled-account.service.js';
import { instrumentOf } from './loaders.js';

@Resolver(() => PooledAccount)
export class PooledAccountResolver {
  @Query(() => [PooledAccount], { description: 'Every pooled master account (administrators only).' })
  pooledAccounts(@Ctx() ctx: GqlContext) {
    return ctx.services.pooled.list(requireUser(ctx));
  }

  @Mutation(() => PooledAccount, { description: 'Create a pooled master account (administrators only).' })
  createPooledAccount(
    @Arg('name', () => String, { description: 'A unique name for it.' }) name: string,
    @Arg('broker', () => String, { description: "The broker its parent orders go to ('paper', or the connection's broker)." }) broker: string,
    @Arg('brokerConnectionId', () => ID, { nullable: true, description: 'The broker connection (yours) it trades through; none for paper.' }) brokerConnectionId: string | null,
    @Arg('windowMs', () => Int, { nullable: true, description: 'Aggregation window in ms (100 to 86400000; 1000 when omitted).' }) windowMs: number | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.pooled.create(requireUser(ctx), { name, broker, brokerConnectionId, windowMs });
  }

  @Mutation(() => [ParentOrder], { description: 'Close the pooled account’s aggregation window now (administrators only); returns the parent orders it made.' })
  closePooledWindow(@Arg('id', () => ID, { description: 'The pooled account.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.pooled.closeWindowNow(requireUser(ctx), id);
  }

  @FieldResolver(() => BrokerConnection, { nullable: true, description: 'The broker connection it trades through (none for paper).' })
  async connection(@Root() a: PooledAccountRow, @Ctx() ctx: GqlContext) {
    if (!a.brokerConnectionId) return null;
    return ctx.services.brokerConnections.forPortfolio(requireUser(ctx), a.brokerConnectionId).catch(() => null);
  }

  @FieldResolver(() => [Portfolio], { description: 'The member portfolios, oldest first.' })
  members(@Root() a: PooledAccountRow, @Ctx() ctx: GqlContext) {
    return ctx.services.pooled.members(requireUser(ctx), a.id);
  }

  @FieldResolver(() => ParentOrderConnection, { description: 'Its parent orders, newest first.' })
  async parentOrders(
    @Root() a: PooledAccountRow,
    @Arg('first', () => Int, { nullable: true, description: 'Page size (default 50, at most MAX_PAGE_SIZE).' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page.' }) after: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    const page = await ctx.services.pooled.parentOrders(requireUser(ctx), a.id, pageSize(first, ctx, 50), after ? decodeCursor(after) : null);
    const edges = page.rows.map((p) => ({ cursor: encodeCursor(p), node: p }));
    return { edges, pageInfo: pageInfo(edges, page.hasNextPage, after) };
  }

  @FieldResolver(() => [ReconciliationLine], { description: 'Broker positions against the sum of the members’ positions, per instrument (every line; difference 0 when they agree).' })
  reconciliation(@Root() a: PooledAccountRow, @Ctx() ctx: GqlContext) {
    requireUser(ctx);
    return ctx.services.pooled.reconciliation(a);
  }
}

@Resolver(() => ParentOrder)
export class ParentOrderResolver {
  @FieldResolver(() => Instrument, { description: 'What it trades.' })
  instrument(@Root() p: ParentOrderRow, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, p.instrumentId);
  }

  @FieldResolver(() => [Order], { description: 'The member orders it aggregates that you may see (your own; an advisor also their clients’; an admin all), oldest first.' })
  children(@Root() p: ParentOrderRow, @Ctx() ctx: GqlContext) {
    return ctx.services.pooled.children(requireUser(ctx), p.id);
  }
}

@Resolver(() => ReconciliationLine)
export class ReconciliationLineResolver {
  @FieldResolver(() => Instrument, { description: 'The instrument.' })
  instrument(@Root() l: Line, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, l.instrumentId);
  }
}

@Resolver(() => Order)
export class OrderPooledFieldsResolver {
  @FieldResolver(() => ParentOrder, { nullable: true, description: 'The pooled parent order that carried it to the broker (member orders whose window has closed).' })
  parentOrder(@Root() o: OrderRow, @Ctx() ctx: GqlContext) {
    return ctx.services.pooled.parentOf(o.id);
  }
}
