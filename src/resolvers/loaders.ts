import DataLoader from 'dataloader';
import type { Services } from '../services/index.js';
import type { UserRow } from '../services/user.service.js';
import type { InstrumentRow, InstrumentService } from '../services/instrument.service.js';
import type { ValuedPosition } from '../services/portfolio.service.js';
import type { Balances } from '../services/ledger.js';
import type { ProfileRow } from '../services/people/profile.service.js';
import type { FillRow } from '../services/orders/order.snapshot.js';
import { NotFoundError } from '../errors.js';

/** Per-request batch loaders, so a list of orders asks for its instruments once. */
export interface Loaders {
  user: DataLoader<string, UserRow | null>;
  instrument: DataLoader<string, InstrumentRow | null>;
  /** By portfolio id: cash, held and available, read once per request. */
  balances: DataLoader<string, Balances>;
  /** By portfolio id: positions valued at market, read once per request. */
  positions: DataLoader<string, ValuedPosition[]>;
  /** By portfolio id: its investment profile (the portfolio was already access-checked). */
  profile: DataLoader<string, ProfileRow | null>;
  /** By order id: its fills, oldest first; a page of orders asks once. */
  fills: DataLoader<string, FillRow[]>;
}

export function createLoaders(services: Services): Loaders {
  // Balances and positions of every portfolio a request reads in one tick: ONE statement (each portfolio's
  // cash, holds and positions from one snapshot), which the two loaders below share.
  const details = new DataLoader(async (ids: readonly string[]) => {
    const byId = await services.portfolios.detailsMany(ids);
    return ids.map((id) => byId.get(id) ?? null);
  });
  return {
    user: new DataLoader(async (ids) => {
      const byId = await services.users.byIds(ids);
      return ids.map((id) => byId.get(id) ?? null);
    }),
    instrument: new DataLoader(async (ids) => {
      const rows = await services.instruments.byIds([...ids]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    balances: new DataLoader(async (ids) => {
      const byId = await details.loadMany(ids);
      return byId.map((d, i) => (d instanceof Error ? d : (d?.balances ?? new Error(`no portfolio ${ids[i]}`))));
    }),
    positions: new DataLoader(async (ids) => {
      const byId = await details.loadMany(ids);
      return byId.map((d, i) => (d instanceof Error ? d : (d?.positions ?? new Error(`no portfolio ${ids[i]}`))));
    }),
    profile: new DataLoader(async (ids) => {
      const byId = await services.profiles.byPortfolioIds(ids);
      return ids.map((id) => byId.get(id) ?? null);
    }),
    fills: new DataLoader(async (ids) => {
      const byOrder = await services.orders.fillsOfMany(ids);
      return ids.map((id) => byOrder.get(id) ?? []);
    }),
  };
}

/**
 * An instrument field's answer: the cached row at once (instruments are reference data, nearly always in
 * the service's cache), so a list of positions or orders resolves without a promise and a loader batch per
 * item; otherwise the request's loader. An id with no instrument is NOT_FOUND.
 */
export function instrumentOf(ctx: { services: { instruments: Pick<InstrumentService, 'cached'> }; loaders: Pick<Loaders, 'instrument'> }, id: string): InstrumentRow | Promise<InstrumentRow> {
  return ctx.services.instruments.cached(id) ?? loadInstrument(ctx.loaders, id);
}

async function loadInstrument(loaders: Pick<Loaders, 'instrument'>, id: string): Promise<InstrumentRow> {
  const i = await loaders.instrument.load(id);
  if (!i) throw new NotFoundError('Instrument', id);
  return i;
}
