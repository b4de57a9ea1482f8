import { BrokerRejectedError, type BrokerOrderRequest } from '../broker.js';
import { dec, isMultipleOf, type Decimal } from '../../lib/decimal.js';

const SIDES = new Set(['BUY', 'SELL']);
const TYPES = new Set(['MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT']);
const TIFS = new Set(['DAY', 'GTC', 'IOC']);

function reject(reason: string, message: string): never {
  throw new BrokerRejectedError(message, reason);
}

function parse(value: string, what: string): Decimal {
  try {
    const d = dec(value);
    if (!d.isFinite()) reject('INVALID_NUMBER', `${what} is not a number: ${value}`);
    return d;
  } catch (err) {
    if (err instanceof BrokerRejectedError) throw err;
    return reject('INVALID_NUMBER', `${what} is not a number: ${value}`);
  }
}

function checkPrice(value: string, what: string, tickSize: Decimal): void {
  const p = parse(value, what);
  if (p.lte(0)) reject('INVALID_PRICE', `${what} must be positive, got ${value}`);
  if (!isMultipleOf(p, tickSize)) reject('OFF_TICK', `${what} ${value} is not a multiple of the tick size ${tickSize.toFixed()}`);
}

/**
 * Check an order the way an exchange's front end would. Throws `BrokerRejectedError` whose `reason` is a
 * stable code (INVALID_QUANTITY, OFF_LOT, OFF_TICK, MISSING_LIMIT_PRICE...) and whose message says why.
 */
export function validateOrderRequest(req: BrokerOrderRequest): void {
  if (!req.account) reject('INVALID_ACCOUNT', 'account is required');
  if (!req.clientOrderId) reject('INVALID_CLIENT_ORDER_ID', 'clientOrderId is required');
  if (!SIDES.has(req.side)) reject('INVALID_SIDE', `unknown side ${String(req.side)}`);
  if (!TYPES.has(req.type)) reject('INVALID_TYPE', `unknown order type ${String(req.type)}`);
  if (!TIFS.has(req.timeInForce)) reject('INVALID_TIME_IN_FORCE', `unknown time in force ${String(req.timeInForce)}`);

  const tick = parse(req.instrument.tickSize, 'tick size');
  const lot = parse(req.instrument.lotSize, 'lot size');
  if (tick.lte(0) || lot.lte(0)) reject('INVALID_INSTRUMENT', `instrument ${req.instrument.symbol} has no valid tick or lot size`);

  const q = parse(req.quantity, 'quantity');
  if (q.lte(0)) reject('INVALID_QUANTITY', `quantity must be positive, got ${req.quantity}`);
  if (!isMultipleOf(q, lot)) reject('OFF_LOT', `quantity ${req.quantity} is not a multiple of the lot size ${lot.toFixed()}`);

  const needsLimit = req.type === 'LIMIT' || req.type === 'STOP_LIMIT';
  const needsStop = req.type === 'STOP' || req.type === 'STOP_LIMIT';
  const limit = req.limitPrice ?? null;
  const stop = req.stopPrice ?? null;
  if (needsLimit && limit === null) reject('MISSING_LIMIT_PRICE', `a ${req.type} order needs a limit price`);
  if (!needsLimit && limit !== null) reject('UNEXPECTED_LIMIT_PRICE', `a ${req.type} order takes no limit price`);
  if (needsStop && stop === null) reject('MISSING_STOP_PRICE', `a ${req.type} order needs a stop price`);
  if (!needsStop && stop !== null) reject('UNEXPECTED_STOP_PRICE', `a ${req.type} order takes no stop price`);
  if (limit !== null) checkPrice(limit, 'limit price', tick);
  if (stop !== null) checkPrice(stop, 'stop price', tick);
  const protection = req.protectionPrice ?? null;
  if (protection !== null && !parse(protection, 'protection price').gt(0)) {
    reject('INVALID_PRICE', `protection price must be positive, got ${protection}`);
  }
}
