/**
 * Where this run's Postgres backends spend their time during a phase: `pg_stat_activity` sampled every
 * few milliseconds, each backend of the database counted by what it is doing — running (on CPU or I/O),
 * waiting for a row lock held by another transaction (`Lock:transactionid` / `Lock:tuple`), or idle in a
 * transaction waiting for the application's next statement (`ClientRead` inside a transaction: the round
 * trip plus the client's event loop). Shares of all sampled backend-moments; approximate by nature.
 */
import type { Sql } from './verify.js';

export class PgWaitSampler {
  private readonly counts = new Map<string, number>();
  private samples = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly database: string,
    private readonly everyMs = 5,
  ) {}

  start(): void {
    this.stopped = false;
    this.loop = (async () => {
      while (!this.stopped) {
        const rows = await this.sql<{ what: string; n: number }[]>`
          select case
                   when state = 'idle in transaction' then 'idle in transaction (waiting for the app)'
                   when state = 'active' and wait_event_type = 'Lock' then 'waiting for a lock (' || wait_event || ')'
                   when state = 'active' and wait_event_type is not null then 'active, ' || wait_event_type || ':' || wait_event
                   when state = 'active' then 'active (CPU)'
                   else coalesce(state, '?')
                 end as what, count(*)::int as n
          from pg_stat_activity where datname = ${this.database} and pid <> pg_backend_pid() and backend_type = 'client backend'
          group by 1`.catch(() => []);
        this.samples++;
        for (const r of rows) this.counts.set(r.what, (this.counts.get(r.what) ?? 0) + r.n);
        await new Promise((r) => setTimeout(r, this.everyMs));
      }
    })();
  }

  /** Stop and return, per state, the mean number of backends in it (idle ones left out). */
  async stop(): Promise<{ what: string; backends: number }[]> {
    this.stopped = true;
    await this.loop;
    return [...this.counts]
      .filter(([what]) => what !== 'idle')
      .map(([what, n]) => ({ what, backends: n / Math.max(1, this.samples) }))
      .sort((a, b) => b.backends - a.backends);
  }
}
