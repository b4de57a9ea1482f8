/**
 * Redis pub/sub of the scaled mode, so an event published by any worker or api replica reaches the
 * subscribers of every api replica. Contract: test/ports/pubsub.contract.ts.
 *
 * Delivery is at most once: a message published while the subscriber connection is down is lost. That
 * is by design — subscribers resume from the outbox by sequence number (DESIGN.md §5).
 */
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import type { Logger } from '../lib/logger.js';
import type { PubSub, Unsubscribe } from './pubsub.js';
import type { TopicMap } from './topics.js';

type Handler = (payload: unknown) => void;

/**
 * A message holding several payloads of one channel (publishMany): this character, then their JSON array.
 * No JSON text starts with a control character, so a single payload's message is never mistaken for one.
 */
const BATCH_MARK = '\u001e';

/**
 * publishMany to this many channels or more first asks Redis which of them anyone listens to (one extra
 * round trip) and publishes to those only. A batch that spans many portfolios (a pooled window's
 * children, a basket's or a proposal's clients) mostly reaches portfolios with no dashboard open: their
 * messages are serialized and sent for no one. Below this size the round trip costs more than it saves.
 */
const LISTENED_CHECK_MIN = 8;

interface Channel {
  handlers: Set<Handler>;
  /** Settles when Redis has confirmed the SUBSCRIBE for this channel. */
  ready: Promise<void>;
}

export interface RedisPubSubOptions {
  /** A Redis URL or ioredis options; two connections are opened (publisher, subscriber) and closed by close(). */
  connection: string | RedisOptions;
  /** Channel prefix: channel = `${prefix}:${topic}:${key}`. */
  prefix: string;
  logger: Logger;
}

/** {@link PubSub} on Redis: one publisher and one subscriber connection, one SUBSCRIBE per channel in use. */
export class RedisPubSub implements PubSub {
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channels = new Map<string, Channel>();
  private closed = false;
  /** Whether the server refused PUBSUB NUMSUB (then every channel of a batch is published). */
  private numsubRefused = false;

  constructor(opts: RedisPubSubOptions) {
    this.prefix = opts.prefix;
    this.logger = opts.logger.child({ component: 'pubsub' });
    // The publisher pipelines what is published in one tick: one write (and one reply to read) for a
    // tick's quotes or a burst of events instead of one per message.
    this.pub = connect(opts.connection, `${opts.prefix}:pubsub:pub`, { enableAutoPipelining: true });
    this.sub = connect(opts.connection, `${opts.prefix}:pubsub:sub`);
    for (const [role, conn] of [['pub', this.pub], ['sub', this.sub]] as const) {
      conn.on('error', (err) => this.logger.warn({ err, role }, 'redis connection error'));
    }
    this.sub.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  async publish<T extends keyof TopicMap & string>(topic: T, key: string, payload: TopicMap[T]): Promise<void> {
    if (this.closed) throw new Error('pubsub is closed');
    await this.pub.publish(this.channelOf(topic, key), JSON.stringify(payload));
  }

  async publishMany<T extends keyof TopicMap & string>(topic: T, items: readonly { key: string; payload: TopicMap[T] }[]): Promise<void> {
    if (this.closed) throw new Error('pubsub is closed');
    if (items.length === 0) return;
    // One message per channel (its payloads in order), all in one pipeline: one write, one round trip.
    const byChannel = new Map<string, unknown[]>();
    for (const { key, payload } of items) {
      const name = this.channelOf(topic, key);
      const list = byChannel.get(name);
      if (list) list.push(payload);
      else byChannel.set(name, [payload]);
    }
    const names = byChannel.size >= LISTENED_CHECK_MIN ? await this.listened([...byChannel.keys()]) : null;
    const pipeline = this.pub.pipeline();
    for (const [name, payloads] of byChannel) {
      if (names && !names.has(name)) continue;
      pipeline.publish(name, payloads.length === 1 ? JSON.stringify(payloads[0]) : BATCH_MARK + JSON.stringify(payloads));
    }
    if (pipeline.length === 0) return;
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async subscribe<T extends keyof TopicMap & string>(
    topic: T,
    key: string,
    handler: (payload: TopicMap[T]) => void,
  ): Promise<Unsubscribe> {
    if (this.closed) throw new Error('pubsub is closed');
    const name = this.channelOf(topic, key);
    let channel = this.channels.get(name);
    if (!channel) {
      // The first subscriber of a channel sends SUBSCRIBE; later ones wait for the same confirmation.
      channel = { handlers: new Set(), ready: this.sub.subscribe(name).then(() => undefined) };
      this.channels.set(name, channel);
    }
    // Wrapped so the same function subscribed twice is two subscriptions, each removed by its own unsubscribe.
    const entry: Handler = (payload) => handler(payload as TopicMap[T]);
    channel.handlers.add(entry);
    const current = channel;
    try {
      // ioredis resolves subscribe() on Redis's confirmation: from here on no publish is missed.
      await current.ready;
    } catch (err) {
      await this.release(name, current, entry);
      throw err;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await this.release(name, current, entry);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    await Promise.all(
      [this.pub, this.sub].map(async (c) => {
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }

  /**
   * The channels among `names` that some connection (of any process) subscribes to now: PUBSUB NUMSUB,
   * one command, one round trip. A channel it finds unheard of gets no message: a subscriber that comes
   * after this check was not a current subscriber when the publish began (the port's contract), and
   * one that reads from the outbox (EventService) starts after what was committed before it subscribed.
   */
  private async listened(names: string[]): Promise<Set<string> | null> {
    if (this.numsubRefused) return null;
    let reply: (string | number)[];
    try {
      reply = (await this.pub.call('PUBSUB', 'NUMSUB', ...names)) as (string | number)[];
    } catch (err) {
      // A server that refuses the command (an ACL without `pubsub|numsub`): everything is published, as
      // before the check. Not retried: the answer will not change while this connection lives.
      if (!(err instanceof ReplyError)) throw err; // the connection, not the server's answer: as any publish
      this.numsubRefused = true;
      this.logger.warn({ err }, 'PUBSUB NUMSUB refused: publishing every channel of a batch');
      return null;
    }
    const out = new Set<string>();
    for (let i = 0; i + 1 < reply.length; i += 2) if (Number(reply[i + 1]) > 0) out.add(String(reply[i]));
    return out;
  }

  private channelOf(topic: string, key: string): string {
    return `${this.prefix}:${topic}:${key}`;
  }

  private async release(name: string, channel: Channel, entry: Handler): Promise<void> {
    channel.handlers.delete(entry);
    if (channel.handlers.size > 0 || this.channels.get(name) !== channel) return;
    this.channels.delete(name);
    if (this.closed) return;
    await channel.ready.catch(() => undefined);
    // A new subscriber may have come while we waited: its SUBSCRIBE is already queued, leave the channel.
    if (this.channels.has(name) || this.closed) return;
    // Commands on one connection run in order, so a SUBSCRIBE sent after this UNSUBSCRIBE still wins.
    await this.sub.unsubscribe(name);
  }

  private dispatch(channel: string, message: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    let payloads: unknown[];
    try {
      payloads = message.startsWith(BATCH_MARK) ? (JSON.parse(message.slice(BATCH_MARK.length)) as unknown[]) : [JSON.parse(message)];
    } catch (err) {
      this.logger.error({ err, channel }, 'dropped a message that is not JSON');
      return;
    }
    for (const payload of payloads) {
      for (const handler of [...entry.handlers]) {
        try {
          handler(payload);
        } catch (err) {
          this.logger.error({ err, channel }, 'subscriber handler threw');
        }
      }
    }
  }
}

function connect(connection: string | RedisOptions, connectionName: string, extra: RedisOptions = {}): Redis {
  // The ready check sends INFO, which a connection already in subscriber mode may not send: a
  // SUBSCRIBE queued before the connection was up would make it fail and reconnect in a loop.
  const opts: RedisOptions = { ...extra, connectionName, enableReadyCheck: false };
  return typeof connection === 'string' ? new Redis(connection, opts) : new Redis({ ...connection, ...opts });
}
