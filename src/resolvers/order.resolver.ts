import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Fill, Order, PlaceOrderInput } from '../schema/order.type.js';
import { Portfolio } from '../schema/portfolio.type.js';
import { Instrument } from '../schema/instrument.type.js';
import { requireUser, type GqlContext } from './context.js';
import type { OrderRow, FillRow } from '../services/orders/order.snapshot.js';
import { instrumentOf } from './loaders.js';

@Resolver(() => Order)
export class OrderResolver {
  @Query(() => Order, { description: 'One of your orders.' })
  order(@Arg('id', () => ID, { description: 'The order; NOT_FOUND unless it is yours.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.orders.get(requireUser(ctx), id);
  }

  @Mutation(() => Order, {
    description:
      'Place an order. It is recorded with its funds (or shares) held and sent to the broker by the job loop; watch orderUpdated and fillReceived. Same clientOrderId, same order.',
  })
  placeOrder(@Arg('input', () => PlaceOrderInput, { description: 'What to trade, where and how.' }) input: PlaceOrderInput, @Ctx() ctx: GqlContext) {
    return ctx.services.orders.place(requireUser(ctx), input);
  }

  @Mutation(() => Order, { description: 'Cancel an order. Finished orders give INVALID_ORDER_STATE. A pooled member order whose window has closed is canceled by reducing its parent at the broker, or refused with INVALID_ORDER_STATE and a reason (see README).' })
  cancelOrder(@Arg('id', () => ID, { description: 'The order to cancel (yours).' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.orders.cancel(requireUser(ctx), id);
  }

  @FieldResolver(() => Portfolio, { description: 'The portfolio it trades in.' })
  portfolio(@Root() o: OrderRow, @Ctx() ctx: GqlContext) {
    return ctx.services.portfolios.get(requireUser(ctx), o.portfolioId);
  }

  @FieldResolver(() => Instrument, { description: 'What it trades.' })
  instrument(@Root() o: OrderRow, @Ctx() ctx: GqlContext) {
    return instrumentOf(ctx, o.instrumentId);
  }

  @FieldResolver(() => [Fill], { description: 'Its executions, oldest first.' })
  fills(@Root() o: OrderRow, @Ctx() ctx: GqlContext) {
    return ctx.loaders.fills.load(o.id);
  }
}

@Resolver(() => Fill)
export class FillResolver {
  @FieldResolver(() => Order, { description: 'The order it belongs to.' })
  order(@Root() f: FillRow, @Ctx() ctx: GqlContext) {
    return ctx.services.orders.get(requireUser(ctx), f.orderId);
  }
}
