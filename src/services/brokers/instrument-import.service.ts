import type { Principal } from '../../auth/tokens.js';
import { BadInputError } from '../../errors.js';
import { assertAdmin } from '../people/access.policy.js';
import type { InstrumentMasterRepository, MasterImportResult } from './instrument-master.repository.js';

/** The largest master accepted through GraphQL (a full NSE master is a few MB; use the command for more). */
export const MAX_MASTER_CHARS = 20_000_000;

/**
 * Importing a broker's instrument master through the API (`importInstruments`): administrators only, the
 * file's text in the broker's documented format (Kite CSV, Upstox JSON, Fyers CSV, Angel One JSON, Groww
 * CSV), the same import as `npm start -- import-instruments <broker> <file>`.
 */
export class InstrumentImportService {
  constructor(private readonly deps: { repo: InstrumentMasterRepository }) {}

  async import(viewer: Principal, broker: string, content: string): Promise<MasterImportResult> {
    assertAdmin(viewer);
    if (!content.trim()) throw new BadInputError('The instrument master is empty', 'content', 'EMPTY');
    if (content.length > MAX_MASTER_CHARS) throw new BadInputError(`The instrument master is larger than ${MAX_MASTER_CHARS} characters; use import-instruments`, 'content', 'TOO_LARGE');
    return this.deps.repo.importMaster(broker, content);
  }
}
