import type { NewEvent } from '../../events/outbox.js';
import type { basketRuns } from '../../db/schema/index.js';
import type { ExecutionLineJson } from './run-summary.js';

type BasketRunRow = typeof basketRuns.$inferSelect;
type RunKind = BasketRunRow['kind'];

/** The run as it travels in BASKET_RUN_UPDATED (JSON-safe). */
export interface BasketRunSnapshot {
  id: string;
  kind: RunKind;
  status: BasketRunRow['status'];
  portfolioId: string;
  investmentId: string | null;
  summary: ExecutionLineJson[] | null;
  createdAt: string;
  completedAt: string | null;
}

export function runEvent(run: BasketRunRow, summary: ExecutionLineJson[] | null): NewEvent {
  const snap: BasketRunSnapshot = {
    id: run.id,
    kind: run.kind,
    status: run.status,
    portfolioId: run.portfolioId,
    investmentId: run.investmentId,
    summary,
    createdAt: run.createdAt.toISOString(),
    completedAt: run.completedAt?.toISOString() ?? null,
  };
  return { type: 'BASKET_RUN_UPDATED', payload: { run: snap } };
}

export function runFromSnapshot(s: BasketRunSnapshot): BasketRunRow {
  return {
    id: s.id,
    userId: '',
    portfolioId: s.portfolioId,
    investmentId: s.investmentId,
    kind: s.kind,
    status: s.status,
    clientRequestId: '',
    requestHash: '',
    plan: { extraCash: '0', useAvailableCash: false, buyWants: [], minTicket: '0', refused: [] },
    summary: s.summary,
    createdAt: new Date(s.createdAt),
    updatedAt: new Date(s.createdAt),
    completedAt: s.completedAt ? new Date(s.completedAt) : null,
  };
}
