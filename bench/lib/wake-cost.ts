/**
 * A calibration of the machine for latency figures, as pgbench's TPS is for throughput: what one small
 * message between two Node processes over loopback TCP costs in CPU (both processes together, from
 * /proc schedstat: time on CPU, not sampled), when the messages come 10 ms apart and when they come back
 * to back. The first is what an order loop pays at moderate rates, where every process sleeps between
 * messages and wakes for each; the second what it pays under full load. On this development machine (a
 * nested virtual machine) the first is about ten times the second, whether the machine is in a fast or a
 * slow hour. So a latency target at 100 orders/s (every process waking several times per order) depends on
 * how dear a wake-up is on the machine, which this figure shows beside the results.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { sleep } from './stats.js';

const ECHO = `
const net = require('node:net');
const srv = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => s.write(d)); });
srv.listen(0, '127.0.0.1', () => process.stdout.write(String(srv.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** Nanoseconds a thread group has run on a CPU so far (the sum over its threads). */
function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return total;
}

export interface WakeCost {
  /** CPU µs per round trip, both processes, one message every 10 ms. */
  paced: number;
  /** The same, messages back to back. */
  flatOut: number;
  /** Round trips measured in each mode. */
  pacedTrips: number;
  flatOutTrips: number;
}

/** Measure for about `pacedSeconds + flatOutSeconds` seconds. Linux only (/proc). */
export async function measureWakeCost(opts: { pacedSeconds?: number; flatOutSeconds?: number } = {}): Promise<WakeCost> {
  const child = spawn(process.execPath, ['-e', ECHO], { stdio: ['pipe', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '' } });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      child.once('exit', (code) => reject(new Error(`echo process exited with ${code}`)));
    });
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', () => resolve()).once('error', reject));
    sock.setNoDelay(true);
    const payload = Buffer.alloc(200, 120);
    const trip = () =>
      new Promise<void>((resolve) => {
        sock.once('data', () => resolve());
        sock.write(payload);
      });
    const both = () => cpuNs(process.pid) + cpuNs(child.pid!);
    // Warm both ends first (JIT, socket buffers).
    for (let i = 0; i < 2000; i++) await trip();

    const run = async (seconds: number, gapMs: number) => {
      const c0 = both();
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < seconds * 1000) {
        await trip();
        n++;
        if (gapMs > 0) await sleep(gapMs);
      }
      return { us: (both() - c0) / 1000 / n, n };
    };
    const paced = await run(opts.pacedSeconds ?? 2, 10);
    const flat = await run(opts.flatOutSeconds ?? 1, 0);
    sock.destroy();
    return { paced: paced.us, flatOut: flat.us, pacedTrips: paced.n, flatOutTrips: flat.n };
  } finally {
    child.stdin!.end();
    child.kill();
  }
}
