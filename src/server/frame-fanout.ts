import type { Socket } from 'node:net';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import type { WebSocket } from 'ws';

/**
 * The socket end of the shared quote path: where one subscriber's frames go, written straight to its
 * `ws` socket instead of through graphql-ws's per-subscriber `for await` → `onNext` → `JSON.stringify`
 * → awaited `send`. A tick is executed once per selection (shared-execution.ts), its `payload` JSON is
 * built once, and the whole graphql-transport-ws `next` frame once per subscription id (clients that
 * use the same id, e.g. "1", share the very same bytes); each socket then costs one `write`.
 *
 * The frame is a complete WebSocket text frame (RFC 6455 §5.2: FIN + opcode 1, unmasked as a server's
 * frames are, then the length), so the same bytes go to every socket: one `write` of a Buffer on the
 * socket's TCP stream, with no per-socket framing, corking or `writev`. This relies on `ws` 8 keeping
 * its TCP socket in `_socket` and writing whole frames to it; a socket that negotiated an extension
 * (permessage-deflate, off on our server) goes through `ws.send` instead.
 */
export interface FrameSink {
  socket: WebSocket;
  /** The graphql-transport-ws subscription id. */
  id: string;
  /** The error boundary (server/errors.ts), applied to a result's errors as graphql-ws' onNext did. */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** A frame held back while the socket was congested (only the latest is kept). */
  pending?: { message: Buffer; frame: Buffer };
  retry?: NodeJS.Timeout;
  /** The TCP socket under `socket` (found on the first write: extensions are fixed at the handshake), or null. */
  raw?: Socket | null;
}

/** Bytes queued on a socket beyond which its quotes are held back, keeping only the latest one. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
const RETRY_MS = 25;

const sinks = new WeakMap<object, FrameSink>();

/** Mark an operation's context as served by a socket (graphql-ws onSubscribe): its shared events go straight there. */
export function attachFrameSink(contextValue: object, sink: FrameSink): void {
  sinks.set(contextValue, sink);
}

export function frameSinkOf(contextValue: unknown): FrameSink | undefined {
  return typeof contextValue === 'object' && contextValue !== null ? sinks.get(contextValue) : undefined;
}

/** One event's result for one selection, as `payload` JSON, and its frames by subscription id. */
export class SharedFrame {
  private payload?: string;
  private waiting: FrameSink[] | null = [];
  private readonly byId = new Map<string, { message: Buffer; frame: Buffer }>();

  constructor(result: ExecutionResult | Promise<ExecutionResult>, private readonly format: FrameSink['formatError']) {
    if (isPromise(result)) {
      result.then(
        (r) => this.ready(r),
        (err: unknown) => this.ready({ errors: [new GraphQLError(err instanceof Error ? err.message : String(err), { originalError: err instanceof Error ? err : undefined })] }),
      );
    } else this.ready(result);
  }

  /** Write this frame to a subscriber now, or as soon as the execution settles. */
  deliver(sink: FrameSink): void {
    if (this.waiting) this.waiting.push(sink);
    else write(sink, this.frame(sink.id));
  }

  private ready(result: ExecutionResult): void {
    const { errors, ...rest } = result;
    const body = errors?.length ? { ...rest, errors: errors.map((e) => this.format(e.toJSON(), e)) } : rest;
    this.payload = JSON.stringify(body);
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const s of waiting) write(s, this.frame(s.id));
  }

  private frame(id: string): { message: Buffer; frame: Buffer } {
    let f = this.byId.get(id);
    if (!f) {
      const message = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":${this.payload}}`);
      f = { message, frame: textFrame(message) };
      this.byId.set(id, f);
    }
    return f;
  }
}

/**
 * Send without waiting for the write callback. A congested socket (a slow reader) gets no more queued
 * behind it: the newest frame is held and sent when the queue drains, older held ones are dropped —
 * the same "latest quote wins" rule the per-subscriber buffer had.
 */
export function write(sink: FrameSink, f: { message: Buffer; frame: Buffer }): void {
  const { socket } = sink;
  if (socket.readyState !== socket.OPEN) return;
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    sink.pending = f;
    sink.retry ??= setTimeout(() => flushPending(sink), RETRY_MS);
    return;
  }
  const raw = sink.raw === undefined ? (sink.raw = rawSocket(socket)) : sink.raw;
  if (raw && raw.writable) raw.write(f.frame);
  else socket.send(f.message, { binary: false });
}

/** The TCP socket under a `ws` socket without extensions, or null (then `ws.send` frames it). */
function rawSocket(socket: WebSocket): Socket | null {
  const internals = socket as unknown as { _socket?: Socket | null; _extensions?: Record<string, unknown> };
  const raw = internals._socket;
  if (!raw || !internals._extensions || Object.keys(internals._extensions).length > 0) return null;
  return raw;
}

/** An unmasked, final WebSocket text frame carrying `payload` (RFC 6455 §5.2). */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x81;
  if (n < 126) out[1] = n;
  else if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(out, head);
  return out;
}

function flushPending(sink: FrameSink): void {
  sink.retry = undefined;
  const f = sink.pending;
  sink.pending = undefined;
  if (f) write(sink, f);
}

/** Stop a sink's retry timer (its subscription ended). */
export function closeFrameSink(sink: FrameSink): void {
  if (sink.retry) clearTimeout(sink.retry);
  sink.retry = undefined;
  sink.pending = undefined;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as Promise<T>)?.then === 'function';
}
