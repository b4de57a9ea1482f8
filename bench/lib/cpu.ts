/**
 * Who used the CPU during a phase: reads /proc (Linux) for the machine total and per process, and groups
 * processes into the bench's own roles, Postgres, Redis and everything else (other users of the box).
 * On other systems it returns nothing and the report says so.
 */
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ on every Linux we run on

interface Snapshot {
  at: number;
  /** Busy (non-idle) ticks of the whole machine. */
  busy: number;
  procs: Map<number, { comm: string; ticks: number }>;
}

export interface CpuUsage {
  /** Seconds of wall time covered. */
  seconds: number;
  /** Cores' worth of CPU used, by group (1.0 = one core busy the whole time). */
  cores: Record<string, number>;
  /** Whole machine, busy cores (all processes, including other users). */
  machine: number;
}

function readProcs(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // comm is in parentheses and may hold spaces: split after the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[0] is state (field 3); utime and stime are fields 14 and 15.
      const ticks = Number(fields[11]) + Number(fields[12]);
      out.set(Number(e), { comm, ticks });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

function readBusy(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return v.reduce((a, b) => a + b, 0) - idle;
  } catch {
    return 0;
  }
}

export function cpuSnapshot(): Snapshot {
  return { at: performance.now(), busy: readBusy(), procs: readProcs() };
}

/** Group CPU used between two snapshots. `roles` maps a pid to a group name (api, worker, bench…). */
export function cpuBetween(a: Snapshot, b: Snapshot, roles: Map<number, string>): CpuUsage {
  const seconds = (b.at - a.at) / 1000;
  const cores: Record<string, number> = {};
  const add = (group: string, ticks: number) => {
    cores[group] = (cores[group] ?? 0) + ticks / CLK_TCK / seconds;
  };
  for (const [pid, now] of b.procs) {
    const before = a.procs.get(pid);
    // Same pid in both snapshots: the same process (an exec keeps the pid and its ticks).
    const ticks = now.ticks - (before ? before.ticks : 0);
    if (ticks <= 0) continue;
    const group =
      roles.get(pid) ?? (now.comm.startsWith('postgres') ? 'postgres' : now.comm.startsWith('redis') ? 'redis' : 'other');
    add(group, ticks);
  }
  return { seconds, cores, machine: (b.busy - a.busy) / CLK_TCK / seconds };
}
