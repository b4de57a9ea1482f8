/**
 * The one registry of domain errors. Each class carries a stable `code` that clients see in
 * `extensions.code`; the GraphQL boundary (server/errors.ts) maps them and hides everything else.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  EMAIL_TAKEN: 'EMAIL_TAKEN',
  WEAK_PASSWORD: 'WEAK_PASSWORD',
  INVALID_TOKEN: 'INVALID_TOKEN',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  INSUFFICIENT_QUANTITY: 'INSUFFICIENT_QUANTITY',
  RISK_LIMIT_EXCEEDED: 'RISK_LIMIT_EXCEEDED',
  IDEMPOTENCY_CONFLICT: 'IDEMPOTENCY_CONFLICT',
  INVALID_ORDER_STATE: 'INVALID_ORDER_STATE',
  RATE_LIMITED: 'RATE_LIMITED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  INVALID_STATE: 'INVALID_STATE',
  BROKER_AUTH_REQUIRED: 'BROKER_AUTH_REQUIRED',
  BROKER_UNAVAILABLE: 'BROKER_UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every error a client may see. `details` must be safe to show (no internals). */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Authentication required') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}
export class ForbiddenError extends DomainError {
  constructor(message = 'Not allowed') {
    super(ErrorCode.FORBIDDEN, message);
  }
}
/** Also used for objects that exist but belong to someone else, so nothing leaks. */
export class NotFoundError extends DomainError {
  constructor(what: string, id?: string) {
    super(ErrorCode.NOT_FOUND, `${what} not found`, id ? { id } : undefined);
  }
}
/**
 * Input that can never succeed as sent. `field` names the argument; `reason` is a stable sub-code
 * (INVALID_QUANTITY, INVALID_PRICE, OFF_TICK, UNKNOWN_SYMBOL, ...) for clients that want to branch.
 */
export class BadInputError extends DomainError {
  constructor(message: string, field?: string, reason?: string) {
    super(ErrorCode.BAD_USER_INPUT, message, { ...(field ? { field } : {}), ...(reason ? { reason } : {}) });
  }
}
export class EmailTakenError extends DomainError {
  constructor() {
    super(ErrorCode.EMAIL_TAKEN, 'That email cannot be used to register; log in instead if it is yours', { field: 'email' });
  }
}
export class WeakPasswordError extends DomainError {
  constructor(minLength: number) {
    super(ErrorCode.WEAK_PASSWORD, `Password must be at least ${minLength} characters`, { field: 'password', minLength });
  }
}
export class RiskLimitError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.RISK_LIMIT_EXCEEDED, message, details);
  }
}
export class InvalidCredentialsError extends DomainError {
  constructor() {
    super(ErrorCode.INVALID_CREDENTIALS, 'Invalid email or password');
  }
}
export class InvalidTokenError extends DomainError {
  constructor(message = 'Invalid or expired token') {
    super(ErrorCode.INVALID_TOKEN, message);
  }
}
export class InsufficientFundsError extends DomainError {
  constructor(required: string, available: string) {
    super(ErrorCode.INSUFFICIENT_FUNDS, `Insufficient funds: requires ${required}, available ${available}`, { required, available });
  }
}
export class InsufficientQuantityError extends DomainError {
  constructor(required: string, available: string) {
    super(ErrorCode.INSUFFICIENT_QUANTITY, `Insufficient quantity: requires ${required}, available ${available}`, {
      required,
      available,
    });
  }
}
export class IdempotencyConflictError extends DomainError {
  constructor(clientOrderId: string) {
    super(ErrorCode.IDEMPOTENCY_CONFLICT, `clientOrderId ${clientOrderId} was already used with different parameters`, {
      clientOrderId,
    });
  }
}
export class InvalidOrderStateError extends DomainError {
  constructor(status: string, action: string) {
    super(ErrorCode.INVALID_ORDER_STATE, `Cannot ${action} an order in status ${status}`, { status });
  }
}
export class RateLimitedError extends DomainError {
  constructor(
    readonly retryAfterMs: number,
    extra?: { reason: string; limit?: number },
  ) {
    super(ErrorCode.RATE_LIMITED, extra?.limit ? `Too many live subscriptions (limit ${extra.limit})` : 'Too many requests; slow down', {
      retryAfterMs,
      ...(extra ?? {}),
    });
  }
}
/** Any object other than an order that is not in a state allowing the action (a run in flight, an archived smallcase...). */
export class InvalidStateError extends DomainError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.INVALID_STATE, message, details);
  }
}


/** The portfolio's broker connection is expired, revoked or not yet connected: the user must reconnect it. */
export class BrokerAuthRequiredError extends DomainError {
  constructor(connectionId: string, status: string) {
    super(ErrorCode.BROKER_AUTH_REQUIRED, `The broker connection is ${status}; reconnect it (startBrokerConnection) before trading`, { connectionId, status });
  }
}
/**
 * The broker could not be reached or answered that it is busy, while an operation waited on it (a login's
 * token exchange, a pooled account's reconciliation): nothing changed, and the same call may succeed
 * later. `retryAfterMs` when the broker said when. The broker's own text is not shown (it is logged).
 */
export class BrokerUnavailableError extends DomainError {
  /** `cause`: the adapter's transient error; a rate limit's `retryAfterMs` is passed on. */
  constructor(broker: string | undefined, cause: Error & { retryAfterMs?: number }) {
    super(ErrorCode.BROKER_UNAVAILABLE, `The broker${broker ? ` (${broker})` : ''} is unavailable; try again later`, {
      ...(broker ? { broker } : {}),
      ...(cause.retryAfterMs !== undefined ? { retryAfterMs: cause.retryAfterMs } : {}),
    });
  }
}

/**
 * A pooled member's cancel after its window closed that cannot reduce the parent at the broker:
 * INVALID_ORDER_STATE with a stable `reason` (CROSSED_SIDE, PARENT_NOT_OPEN, PARENT_TOO_SMALL,
 * NOTHING_UNFILLED, BROKER_CANNOT_REDUCE, BROKER_REFUSED). Nothing changed.
 */
export class PooledCancelRefusedError extends DomainError {
  constructor(status: string, reason: string, why: string) {
    super(ErrorCode.INVALID_ORDER_STATE, `Cannot cancel this pooled order (status ${status}): ${why}`, { status, reason });
  }
}

/**
 * A step that can never succeed as things stand, however often it is tried again: a fill for an order that
 * does not exist, a fill that would overfill its order, books that disagree with what a step was told, a
 * delivery its target refused for good. Not a client error (the GraphQL boundary hides it as any unknown
 * error). The job loop fails the job that met it at once instead of retrying it (jobs/queue.ts), and the
 * transaction it was thrown in rolls back, so nothing is half-written.
 */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
