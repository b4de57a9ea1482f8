import { describe, expect, it, vi } from 'vitest';
import { GraphQLError } from 'graphql';
import { makeFormatError } from './errors.js';
import { RateLimitedError } from '../errors.js';
import { BrokerRateLimitedError, BrokerTransientError } from '../brokers/broker.js';
import { silentLogger } from '../lib/logger.js';

function spyLogger() {
  const error = vi.fn();
  return { logger: Object.assign(Object.create(silentLogger), { error }) as typeof silentLogger, error };
}

describe('the error boundary', () => {
  it('reports a rate limit raised while building the context as RATE_LIMITED, and does not log it as internal', () => {
    const { logger, error } = spyLogger();
    const format = makeFormatError(logger);
    // The shape Apollo hands over when the context function throws (no path, the domain error inside).
    const raised = new GraphQLError('Too many requests; slow down', {
      originalError: new RateLimitedError(1234),
      extensions: { code: 'RATE_LIMITED', http: { status: 429 } },
    });
    const out = format({ message: raised.message, extensions: { code: 'RATE_LIMITED' } }, raised);
    expect(out.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterMs: 1234 });
    expect(error).not.toHaveBeenCalled();
  });

  it('passes a coded boundary error (input guard) through without its transport hints', () => {
    const { logger, error } = spyLogger();
    const raised = new GraphQLError('Not found', { extensions: { code: 'NOT_FOUND', field: 'id', http: { status: 200 } } });
    const out = makeFormatError(logger)(raised.toJSON(), raised);
    expect(out.extensions).toEqual({ code: 'NOT_FOUND', field: 'id' });
    expect(error).not.toHaveBeenCalled();
  });

  it("shows a broker that was not reached as BROKER_UNAVAILABLE, never with the broker's own text", () => {
    const { logger, error } = spyLogger();
    const format = makeFormatError(logger);
    const down = new GraphQLError('zerodha GET /portfolio/positions: HTTP 503 upstream connect error', {
      originalError: new BrokerTransientError('zerodha GET /portfolio/positions: HTTP 503 upstream connect error'),
      path: ['reconciliation'],
    });
    const out = format(down.toJSON(), down);
    expect(out).toMatchObject({ message: 'The broker is unavailable; try again later', extensions: { code: 'BROKER_UNAVAILABLE' } });
    expect(JSON.stringify(out)).not.toMatch(/503|upstream|positions/);
    const busy = new GraphQLError('rate limited', { originalError: new BrokerRateLimitedError(2500), path: ['reconciliation'] });
    expect(format(busy.toJSON(), busy).extensions).toEqual({ code: 'BROKER_UNAVAILABLE', retryAfterMs: 2500 });
    expect(error).not.toHaveBeenCalled();
  });

  it('still hides and logs an unknown error', () => {
    const { logger, error } = spyLogger();
    const raised = new GraphQLError('relation "x" does not exist', { originalError: new Error('relation "x" does not exist'), path: ['me'] });
    const out = makeFormatError(logger)(raised.toJSON(), raised);
    expect(out).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(error).toHaveBeenCalledTimes(1);
  });
});
