/** Load shapes: a closed loop (C clients, each waits for its answer) and an open loop at a fixed rate. */
import { sleep, wallNow } from './stats.js';

export type PlaceOutcome = { ok: true } | { ok: false; code: string };

/** Places one order with the given client order id in the portfolio with the given index. */
export type Placer = (portfolioIndex: number, clientOrderId: string) => Promise<PlaceOutcome>;

export interface Placement {
  clientOrderId: string;
  /** Wall-clock ms (sub-ms resolution) when the request started and when its answer arrived. */
  startedAt: number;
  answeredAt: number;
}

export interface LoadResult {
  accepted: Placement[];
  errors: Map<string, number>;
  /** Wall-clock ms of the first request's start and the last answer. */
  firstStart: number;
  lastAnswer: number;
}

function recordError(errors: Map<string, number>, code: string): void {
  errors.set(code, (errors.get(code) ?? 0) + 1);
}

/**
 * `concurrency` clients, each placing orders back to back for `durationMs`; portfolios are taken round
 * robin so the load spreads over every account. A client that gets an error goes on (errors are counted).
 */
export async function closedLoop(opts: { place: Placer; concurrency: number; durationMs: number; portfolios: number; idPrefix: string }): Promise<LoadResult> {
  const accepted: Placement[] = [];
  const errors = new Map<string, number>();
  let seq = 0;
  const firstStart = wallNow();
  const deadline = firstStart + opts.durationMs;
  let lastAnswer = firstStart;
  const client = async () => {
    while (wallNow() < deadline) {
      const n = seq++;
      const clientOrderId = `${opts.idPrefix}${n}`;
      const startedAt = wallNow();
      try {
        const r = await opts.place(n % opts.portfolios, clientOrderId);
        const answeredAt = wallNow();
        lastAnswer = Math.max(lastAnswer, answeredAt);
        if (r.ok) accepted.push({ clientOrderId, startedAt, answeredAt });
        else recordError(errors, r.code);
      } catch (err) {
        recordError(errors, (err as Error).message.slice(0, 80));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, client));
  return { accepted, errors, firstStart, lastAnswer };
}

/**
 * Requests started at a fixed `ratePerSecond` for `durationMs`, whatever the answers do (open loop: a slow
 * server cannot slow the arrivals down, so queueing shows up in the latencies as it would for real users).
 */
export async function openLoop(opts: { place: Placer; ratePerSecond: number; durationMs: number; portfolios: number; idPrefix: string; onStart?: (clientOrderId: string, at: number) => void }): Promise<LoadResult> {
  const accepted: Placement[] = [];
  const errors = new Map<string, number>();
  const total = Math.round((opts.durationMs / 1000) * opts.ratePerSecond);
  const interval = 1000 / opts.ratePerSecond;
  const firstStart = wallNow();
  let lastAnswer = firstStart;
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = firstStart + n * interval;
    const wait = due - wallNow();
    if (wait > 1) await sleep(wait);
    const clientOrderId = `${opts.idPrefix}${n}`;
    const startedAt = wallNow();
    opts.onStart?.(clientOrderId, startedAt);
    inFlight.push(
      opts.place(n % opts.portfolios, clientOrderId).then(
        (r) => {
          const answeredAt = wallNow();
          lastAnswer = Math.max(lastAnswer, answeredAt);
          if (r.ok) accepted.push({ clientOrderId, startedAt, answeredAt });
          else recordError(errors, r.code);
        },
        (err: unknown) => recordError(errors, (err as Error).message.slice(0, 80)),
      ),
    );
  }
  await Promise.all(inFlight);
  return { accepted, errors, firstStart, lastAnswer };
}
