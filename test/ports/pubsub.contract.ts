/**
 * The PubSub contract: every adapter (in process, Redis) must pass these same tests.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { PubSub } from '../../src/events/pubsub.js';
import type { PortfolioEventMessage, QuoteMessage } from '../../src/events/topics.js';
import { waitFor } from './helpers.js';

export interface PubSubHarness {
  /** A new pub/sub instance. Instances share messages when `distributed` (two api replicas). */
  create(): PubSub;
  distributed: boolean;
}

function portfolioEvent(portfolioId: string, sequence: number): PortfolioEventMessage {
  return {
    portfolioId,
    sequence,
    type: 'BALANCE_CHANGED',
    payload: { cash: '1234.05', availableCash: '12.50', reason: `ünïcødé ✓ ${randomUUID()}` },
    createdAt: '2026-01-05T09:15:00.000Z',
  };
}

function quote(symbol: string, last: string): QuoteMessage {
  return { symbol, exchange: 'NSE', bid: null, ask: '101.25', bidSize: null, askSize: '40', last, volume: '1000', timestamp: '2026-01-05T09:15:01.000Z' };
}

export function pubSubContract(label: string, harness: PubSubHarness): void {
  describe(`PubSub contract: ${label}`, () => {
    const opened: PubSub[] = [];
    function open(): PubSub {
      const ps = harness.create();
      opened.push(ps);
      return ps;
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((ps) => ps.close()));
    });

    it('delivers what is published after subscribe resolved, unchanged', async () => {
      const ps = open();
      const portfolioId = randomUUID();
      const got: PortfolioEventMessage[] = [];
      await ps.subscribe('portfolio-events', portfolioId, (m) => got.push(m));
      const sent = portfolioEvent(portfolioId, 1);
      await ps.publish('portfolio-events', portfolioId, sent);
      await waitFor('the event', () => got.length === 1);
      expect(got[0]).toEqual(sent);
    });

    it('delivers in publish order', async () => {
      const ps = open();
      const portfolioId = randomUUID();
      const got: number[] = [];
      await ps.subscribe('portfolio-events', portfolioId, (m) => got.push(m.sequence));
      for (let seq = 1; seq <= 20; seq += 1) await ps.publish('portfolio-events', portfolioId, portfolioEvent(portfolioId, seq));
      await waitFor('twenty events', () => got.length === 20);
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('publishMany delivers every payload to its own key, in order per key', async () => {
      const ps = open();
      const [a, b] = [randomUUID(), randomUUID()];
      const got: [string, number][] = [];
      await ps.subscribe('portfolio-events', a, (m) => got.push([m.portfolioId, m.sequence]));
      await ps.subscribe('portfolio-events', b, (m) => got.push([m.portfolioId, m.sequence]));
      expect(ps.publishMany).toBeTypeOf('function');
      const sent = [portfolioEvent(a, 1), portfolioEvent(b, 1), portfolioEvent(a, 2), portfolioEvent(a, 3)];
      await ps.publishMany!('portfolio-events', sent.map((m) => ({ key: m.portfolioId, payload: m })));
      await ps.publishMany!('portfolio-events', [{ key: b, payload: portfolioEvent(b, 2) }]);
      await waitFor('five events', () => got.length === 5);
      expect(got.filter(([k]) => k === a).map(([, s]) => s)).toEqual([1, 2, 3]);
      expect(got.filter(([k]) => k === b).map(([, s]) => s)).toEqual([1, 2]);
    });

    it('publishMany over many keys reaches every subscribed key, in order, and no other', async () => {
      const ps = open();
      const keys = Array.from({ length: 40 }, () => randomUUID());
      const heard = [keys[0], keys[17], keys[39]];
      const got = new Map<string, number[]>();
      for (const k of heard) await ps.subscribe('portfolio-events', k, (m) => got.set(m.portfolioId, [...(got.get(m.portfolioId) ?? []), m.sequence]));
      const sent = [1, 2, 3].flatMap((seq) => keys.map((k) => portfolioEvent(k, seq)));
      await ps.publishMany!('portfolio-events', sent.map((m) => ({ key: m.portfolioId, payload: m })));
      await waitFor('three events on each subscribed key', () => heard.every((k) => got.get(k)?.length === 3));
      expect([...got.keys()].sort()).toEqual([...heard].sort());
      for (const k of heard) expect(got.get(k)).toEqual([1, 2, 3]);
    });

    it('keeps keys and topics apart', async () => {
      const ps = open();
      const mine = randomUUID();
      const other = randomUUID();
      const got: PortfolioEventMessage[] = [];
      await ps.subscribe('portfolio-events', mine, (m) => got.push(m));
      await ps.publish('portfolio-events', other, portfolioEvent(other, 1));
      await ps.publish('quotes', mine, quote('INFY', '1500.10'));
      // Same channel, sent last: once it is in, anything misrouted would have arrived before it.
      await ps.publish('portfolio-events', mine, portfolioEvent(mine, 2));
      await waitFor('the sentinel', () => got.some((m) => m.sequence === 2));
      expect(got.map((m) => [m.portfolioId, m.sequence])).toEqual([[mine, 2]]);
    });

    it('delivers to every subscriber of a channel, once each', async () => {
      const ps = open();
      const key = `NSE:${randomUUID()}`;
      const counts = new Array<number>(15).fill(0);
      await Promise.all(counts.map((_, i) => ps.subscribe('quotes', key, () => void (counts[i] = (counts[i] ?? 0) + 1))));
      await ps.publish('quotes', key, quote('TCS', '3900.00'));
      await waitFor('all fifteen', () => counts.every((c) => c >= 1));
      await ps.publish('quotes', key, quote('TCS', '3900.05'));
      await waitFor('the second quote', () => counts.every((c) => c >= 2));
      expect(counts).toEqual(new Array<number>(15).fill(2));
    });

    it('stops delivering to a subscriber that unsubscribed, and keeps the others', async () => {
      const ps = open();
      const key = randomUUID();
      const left: number[] = [];
      const stayed: number[] = [];
      const leave = await ps.subscribe('portfolio-events', key, (m) => left.push(m.sequence));
      await ps.subscribe('portfolio-events', key, (m) => stayed.push(m.sequence));
      await ps.publish('portfolio-events', key, portfolioEvent(key, 1));
      await waitFor('the first event twice', () => left.length === 1 && stayed.length === 1);
      await leave();
      await leave(); // twice is harmless
      await ps.publish('portfolio-events', key, portfolioEvent(key, 2));
      await waitFor('the second event', () => stayed.length === 2);
      expect(left).toEqual([1]);
    });

    it('can subscribe again to a channel after its last subscriber left', async () => {
      const ps = open();
      const key = randomUUID();
      const first: number[] = [];
      const unsubscribe = await ps.subscribe('portfolio-events', key, (m) => first.push(m.sequence));
      await unsubscribe();
      const second: number[] = [];
      await ps.subscribe('portfolio-events', key, (m) => second.push(m.sequence));
      await ps.publish('portfolio-events', key, portfolioEvent(key, 7));
      await waitFor('the event', () => second.length === 1);
      expect(second).toEqual([7]);
      expect(first).toEqual([]);
    });

    it('survives a subscriber that throws: others still receive, the publisher is not affected', async () => {
      const ps = open();
      const key = randomUUID();
      const got: number[] = [];
      await ps.subscribe('portfolio-events', key, () => {
        throw new Error('a buggy subscriber');
      });
      await ps.subscribe('portfolio-events', key, (m) => got.push(m.sequence));
      await expect(ps.publish('portfolio-events', key, portfolioEvent(key, 1))).resolves.toBeUndefined();
      await ps.publish('portfolio-events', key, portfolioEvent(key, 2));
      await waitFor('both events', () => got.length === 2);
      expect(got).toEqual([1, 2]);
    });

    // Only a distributed adapter has replicas to cross.
    if (harness.distributed) {
      it('carries a message published on one replica to the subscribers of another', async () => {
        const api1 = open();
        const api2 = open();
        const key = randomUUID();
        const onApi1: number[] = [];
        const onApi2: number[] = [];
        await api1.subscribe('portfolio-events', key, (m) => onApi1.push(m.sequence));
        await api2.subscribe('portfolio-events', key, (m) => onApi2.push(m.sequence));
        // Published with no pause after subscribe resolved: it must already be live.
        await api1.publish('portfolio-events', key, portfolioEvent(key, 1));
        await api2.publish('portfolio-events', key, portfolioEvent(key, 2));
        await waitFor('both events on both replicas', () => onApi1.length === 2 && onApi2.length === 2);
        expect(onApi1).toEqual([1, 2]);
        expect(onApi2).toEqual([1, 2]);
      });

      it('publishMany over many keys reaches a key subscribed on another replica only', async () => {
        const worker = open();
        const api = open();
        const keys = Array.from({ length: 30 }, () => randomUUID());
        const got: [string, number][] = [];
        await api.subscribe('portfolio-events', keys[11], (m) => got.push([m.portfolioId, m.sequence]));
        await worker.publishMany!('portfolio-events', keys.map((k) => ({ key: k, payload: portfolioEvent(k, 1) })));
        await worker.publishMany!('portfolio-events', keys.map((k) => ({ key: k, payload: portfolioEvent(k, 2) })));
        await waitFor('both events', () => got.length === 2);
        expect(got).toEqual([
          [keys[11], 1],
          [keys[11], 2],
        ]);
      });
    }
  });
}
