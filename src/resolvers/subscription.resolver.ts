import { Arg, ID, Int, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { FillEvent, OrderEvent } from '../schema/order.type.js';
import { BalanceEvent, PositionEvent } from '../schema/portfolio.type.js';
import { Quote } from '../schema/instrument.type.js';
import { PortfolioCursorInput } from '../schema/event-cursor.type.js';
import { requireUser, type GqlContext } from './context.js';
import type { PortfolioEventMessage, PortfolioEventType, QuoteMessage } from '../events/topics.js';
import { fillFromSnapshot, orderFromSnapshot, type FillSnapshot, type OrderSnapshot } from '../services/orders/order.snapshot.js';
import { valuePosition } from '../services/portfolio.service.js';
import type { PositionRow } from '../services/portfolio.service.js';

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

const AFTER = 'With portfolioId only: replay that portfolio\'s events after this sequence first, then go live. Without portfolioId use `after` (BAD_USER_INPUT).';
const PORTFOLIO = 'One portfolio; all of yours if omitted.';
const CURSORS =
  'Per-portfolio cursors: replay each listed portfolio\'s events after its sequence, then go live (resume after a dropped socket). Portfolios not listed start live.';

/** Live events. Each subscription authenticates with the socket and only ever sees the caller's portfolios. */
@Resolver()
export class SubscriptionResolver {
  @Subscription(() => OrderEvent, { subscribe: stream('ORDER_UPDATED'), description: 'An order changed status or filled.' })
  orderUpdated(
    @Root() m: PortfolioEventMessage,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): OrderEvent {
    return { sequence: m.sequence, order: orderFromSnapshot(m.payload.order as OrderSnapshot) as never };
  }

  @Subscription(() => FillEvent, { subscribe: stream('FILL_RECEIVED'), description: 'An order was (partly) filled.' })
  fillReceived(
    @Root() m: PortfolioEventMessage,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): FillEvent {
    return {
      sequence: m.sequence,
      fill: fillFromSnapshot(m.payload.fill as FillSnapshot) as never,
      order: orderFromSnapshot(m.payload.order as OrderSnapshot) as never,
    };
  }

  @Subscription(() => BalanceEvent, { subscribe: stream('BALANCE_CHANGED'), description: 'Cash or available cash changed.' })
  balanceChanged(
    @Root() m: PortfolioEventMessage,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): BalanceEvent {
    const p = m.payload as { cash: string; availableCash: string; reason: string };
    return { sequence: m.sequence, portfolioId: m.portfolioId, cash: p.cash, availableCash: p.availableCash, reason: p.reason };
  }

  @Subscription(() => PositionEvent, { subscribe: stream('POSITION_CHANGED'), description: 'A position changed after a fill.' })
  positionChanged(
    @Root() m: PortfolioEventMessage,
    @Arg('portfolioId', () => ID, { nullable: true, description: PORTFOLIO }) _portfolioId: string | null,
    @Arg('afterSequence', () => Int, { nullable: true, description: AFTER }) _afterSequence: number | null,
    @Arg('after', () => [PortfolioCursorInput], { nullable: true, description: CURSORS }) _after: PortfolioCursorInput[] | null,
  ): PositionEvent {
    const pos = m.payload.position as PositionRow;
    // Valued with the price at the time of the event: the fill's own price is not known here, so no quote.
    return { sequence: m.sequence, portfolioId: m.portfolioId, position: valuePosition(pos, null) as never };
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
