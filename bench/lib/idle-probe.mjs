/**
 * Preloaded into a role process by `bench:idle` (`node --import bench/lib/idle-probe.mjs …`): counts the
 * Redis commands the process sends (ioredis, by name) and, on SIGUSR2, opens or closes a measuring window:
 * the first signal resets the counts and starts V8's sampling profiler in process; the second stops it and
 * writes `<IDLE_PROBE_DIR>/<pid>.cpuprofile` and `<pid>.json` (commands by name over the window).
 * Plain JavaScript so it preloads into the compiled `dist` runtime as well as under tsx.
 */
import { createRequire } from 'node:module';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const require = createRequire(path.join(process.cwd(), 'package.json'));
const { Redis } = require('ioredis');
const dir = process.env.IDLE_PROBE_DIR ?? '/tmp';
let counts = new Map();
let writes = new Map();
let channels = new Map();
const seen = new WeakSet();
// Socket writes handed to the kernel (each a write/writev syscall), by the peer's port: what a round trip
// costs beyond its bytes. Counted where net.Socket hands a write to its handle.
const writeGeneric = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function (writev, data, encoding, cb) {
  const peer = this.remotePort === undefined ? 'local' : String(this.remotePort < 32768 ? this.remotePort : this.localPort < 32768 ? `served:${this.localPort}` : 'ephemeral');
  writes.set(peer, (writes.get(peer) ?? 0) + 1);
  return writeGeneric.call(this, writev, data, encoding, cb);
};
const proto = Redis.prototype;
const original = proto.sendCommand;
proto.sendCommand = function (cmd, ...rest) {
  if (cmd && !seen.has(cmd)) {
    seen.add(cmd);
    counts.set(cmd.name, (counts.get(cmd.name) ?? 0) + 1);
    if (cmd.name === 'publish' || cmd.name === 'evalsha') {
      // A channel by its topic (`<prefix>:<topic>:<key>`), a script by its sha's first characters.
      const a = cmd.name === 'publish' ? String(cmd.args?.[0]).split(':')[1] : String(cmd.args?.[0]).slice(0, 8);
      channels.set(`${cmd.name} ${a}`, (channels.get(`${cmd.name} ${a}`) ?? 0) + 1);
    }
  }
  return original.call(this, cmd, ...rest);
};

let session;
let startedAt = 0;
process.on('SIGUSR2', () => {
  if (!session) {
    session = new Session();
    session.connect();
    counts = new Map();
    writes = new Map();
    channels = new Map();
    startedAt = performance.now();
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 1000 }, () => session.post('Profiler.start')));
    return;
  }
  const s = session;
  session = undefined;
  const seconds = (performance.now() - startedAt) / 1000;
  s.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify({ seconds, redis: Object.fromEntries(counts), writes: Object.fromEntries(writes), channels: Object.fromEntries(channels) }));
    s.disconnect();
  });
});
