import { Arg, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { FillEvent, OrderEvent } from '../schema/order.type.js';
import { BalanceEvent, PositionEvent } from '../schema/portfolio.type.js';
import { Quote } from '../schema/instrument.type.js';
import { PortfolioCursorInput } from '../schema/event-cursor.type.js';
import { requireUser, type GqlContext } from './context.js';
import type { PortfolioEventMessage, PortfolioEventType, QuoteMessage } from '../events/topics.js';
import { fillFromSnapshot, orderFromSnapshot, type FillRow, type OrderRow } from '../services/orders/order.snapshot.js';
import { valuePosition, type ValuedPosition } from '../services/portfolio.service.js';

interface StreamArgs {
  portfolioId?: string | null;
  afterSequence?: number | null;
  after?: PortfolioCursorInput[] | null;
}

function stream(type: PortfolioEventType) {
  return ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) =>
    context.services.events.stream(requireUser(context), {
      portfolioId: (args as StreamArgs).portfolioId,
      afterSequence: (args as StreamArgs).afterSequence,
      after: (args as StreamArgs).after,
      types: [type],
    });
}

// What the event fields return: the GraphQL event types, with the rows their own field resolvers take
// (an order's instrument and fills, a position's instrument) in place of the object types.
type OrderEventRoot = Omit<OrderEvent, 'order'> & { order: OrderRow };
type FillEventRoot = Omit<FillEvent, 'order' | 'fill'> & { order: OrderRow; fill: FillRow };
type PositionEventRoot = Omit<PositionEvent, 'position'> & { position: ValuedPosition };

const AFTER = 'With portfolioId only: replay that portfolio\'s events after this sequence first, then go live. Without portfolioId use `after` (BAD_USER_INPUT).';
const PORTFOLIO = 'One portfolio; all of yours if omitted.';
const CURSORS =
  'Per-portfolio cursors: replay each listed portfolio\'s events after its sequence, then go live (resume after a dropped socket). Portfolios not listed start live.';

/** Live events. Each subscription authenticates with the socket and only ever sees the caller's portfolios. */
@Resolver()
export class SubscriptionResolver {
  @Subscription(() => OrderEvent, { subscribe: stream('ORDER_UPDATED'), description: 'An order changed status or filled.' })
  orderUpdated(
    @Root() m: PortfolioEventMessage<'ORDER_UPDATED'>,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): OrderEventRoot {
    return { sequence: m.sequence, order: orderFromSnapshot(m.payload.order) };
  }

  @Subscription(() => FillEvent, { subscribe: stream('FILL_RECEIVED'), description: 'An order was (partly) filled.' })
  fillReceived(
    @Root() m: PortfolioEventMessage<'FILL_RECEIVED'>,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): FillEventRoot {
    return { sequence: m.sequence, fill: fillFromSnapshot(m.payload.fill), order: orderFromSnapshot(m.payload.order) };
  }

  @Subscription(() => BalanceEvent, { subscribe: stream('BALANCE_CHANGED'), description: 'Cash or available cash changed.' })
  balanceChanged(
    @Root() m: PortfolioEventMessage<'BALANCE_CHANGED'>,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): BalanceEvent {
    const { cash, availableCash, reason } = m.payload;
    return { sequence: m.sequence, portfolioId: m.portfolioId, cash, availableCash, reason };
  }

  @Subscription(() => PositionEvent, { subscribe: stream('POSITION_CHANGED'), description: 'A position changed after a fill.' })
  positionChanged(
    @Root() m: PortfolioEventMessage<'POSITION_CHANGED'>,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): PositionEventRoot {
    // Valued with the price at the time of the event: the fill's own price is not known here, so no quote.
    return { sequence: m.sequence, portfolioId: m.portfolioId, position: valuePosition(m.payload.position, null) };
  }

  @Subscription(() => Quote, {
    subscribe: ({ args, context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) => {
      requireUser(context);
      return context.services.events.quotes((args as { symbols: string[] }).symbols);
    },
    description: 'Quotes for up to 100 symbols ("AAPL" or "NSE:RELIANCE"): the latest at once, then each update.',
  })
  quotes(
    @Root() q: QuoteMessage,
    @Arg('symbols', () => [String], { description: 'Symbols ("AAPL") or exchange-qualified symbols ("NSE:RELIANCE"), 1 to 100.' }) _symbols: string[],
  ): QuoteMessage {
    return q;
  }
}
