/**
 * Redis commands sent by this process, counted client-side in ioredis (BullMQ, pub/sub and the rate
 * limiter all use it): exact for the plumbing path, unlike INFO commandstats of a shared server. A Lua
 * script (BullMQ's) counts as the one EVALSHA sent, not the calls it makes inside Redis.
 */
import { Redis } from 'ioredis';

export class RedisCommandCounter {
  total = 0;
  readonly byName = new Map<string, number>();
  private installed = false;

  install(): void {
    if (this.installed) return;
    this.installed = true;
    const proto = Redis.prototype as unknown as { sendCommand: (cmd: { name: string }, ...rest: unknown[]) => unknown };
    const original = proto.sendCommand;
    // A command may pass through sendCommand more than once (offline queue, resend after reconnect).
    const seen = new WeakSet<object>();
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const counter = this;
    proto.sendCommand = function (this: unknown, cmd: { name: string }, ...rest: unknown[]) {
      if (!seen.has(cmd)) {
        seen.add(cmd);
        counter.total++;
        counter.byName.set(cmd.name, (counter.byName.get(cmd.name) ?? 0) + 1);
      }
      return original.call(this, cmd, ...rest);
    };
  }

  snapshot(): { total: number; byName: Map<string, number> } {
    return { total: this.total, byName: new Map(this.byName) };
  }
}
