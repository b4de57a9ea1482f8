/**
 * Group commit: calls that arrive while earlier batches are being written wait, and are handed to
 * `run` together as the next batch. Under light load an item goes alone, at once (the next turn of the
 * event loop); under heavy load batches grow up to `maxBatch`, and the cost per item falls. At most
 * `maxInFlight` batches run at once. `run` returns one result per item, in order; if it throws, every
 * item of the batch gets the error (callers decide whether to retry items alone).
 */
export class GroupCommit<I, R> {
  private pending: { item: I; resolve: (r: R) => void; reject: (err: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<R[]>,
    private readonly opts: { maxBatch: number; maxInFlight: number },
  ) {}

  push(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    // Calls made in this turn of the event loop join the same batch.
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < this.opts.maxInFlight && this.pending.length > 0) {
        const batch = this.pending.splice(0, this.opts.maxBatch);
        this.inFlight++;
        this.run(batch.map((b) => b.item))
          .then(
            (results) => batch.forEach((b, i) => b.resolve(results[i])),
            (err: unknown) => batch.forEach((b) => b.reject(err)),
          )
          .finally(() => {
            this.inFlight--;
            this.schedule();
          });
      }
    });
  }
}

/**
 * The order loop's batchers (placement, submit, acknowledgement, the paper exchange's placements): ONE
 * batch in flight each. With two, what arrives during a commit is split between two transactions of
 * half the size, which mostly wait for each other's portfolio locks anyway; the cost per order is a
 * batch's fixed cost (its statements, round trips and commit) divided by fewer orders. Measured at stop
 * 29 (bench:orders, two alternated pairs of 30 s phases): one in flight filled 257 and 244 orders/s
 * against 183 and 186 with two, at 27 % less CPU per order in api, worker and Postgres, and at 100/s the
 * p50 fell from 182–212 to 113–119 ms. Parallelism across processes (api and worker replicas) is
 * unchanged: each has its own batchers.
 */
export const ORDER_LOOP_BATCHING = { maxBatch: 64, maxInFlight: 1 } as const;
