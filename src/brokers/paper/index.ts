export { PaperBroker, type PaperBrokerOptions } from './paper.broker.js';
export { DEFAULT_FEES, computeFee, type FeeRule, type FeeSchedule } from './fees.js';
export type { FaultKind, FaultOp, FaultSpec } from './faults.js';
export { DEFAULT_STARTING_CASH } from './paper.accounts.js';
export { paperFills, paperOrders } from './paper.schema.js';
