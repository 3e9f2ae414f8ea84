/**
 * One error base for the whole project. Every error we raise on purpose is an AppError with a
 * code from this list, a `retriable` flag and the original `cause` kept for the logs. Who acts on
 * `retriable`: the consumers' run loop retries a retriable sink error with backoff and isolates the
 * events behind a non-retriable one (consumers/runtime/write-failure.ts); the HTTP mapper answers
 * retriable codes with 503/429 and `Retry-After`.
 */
export const ErrorCodes = {
  CONFIG_INVALID: { retriable: false },
  /** A request the HTTP edge cannot route safely (see elysiaPathOf in src/http/app.ts). */
  BAD_REQUEST: { retriable: false },
  VALIDATION_FAILED: { retriable: false },
  MALFORMED_JSON: { retriable: false },
  UNSUPPORTED_MEDIA_TYPE: { retriable: false },
  PAYLOAD_TOO_LARGE: { retriable: false },
  NOT_FOUND: { retriable: false },
  METHOD_NOT_ALLOWED: { retriable: false },
  UNAUTHORIZED: { retriable: false },
  FORBIDDEN: { retriable: false },
  RATE_LIMITED: { retriable: true },
  /** The producer's bounded buffer is full: the client should retry later. */
  OVERLOADED: { retriable: true },
  /** The broker did not acknowledge within the ack timeout. */
  BROKER_TIMEOUT: { retriable: true },
  /** The broker refused or failed the write. */
  BROKER_UNAVAILABLE: { retriable: true },
  /** The process is draining for shutdown and takes no new work. */
  SHUTTING_DOWN: { retriable: true },
  /**
   * The client reused an Idempotency-Key with a different body, and this API process still
   * remembers the first one (best effort: src/sessions/service.ts).
   */
  IDEMPOTENCY_KEY_REUSED: { retriable: false },
  /** A read model or analytics store could not be reached or failed a write or a query: try again. */
  STORE_UNAVAILABLE: { retriable: true },
  /**
   * A store refused a write because of what was in it (a constraint, a value out of range): the
   * same write fails again however often it is retried. Consumers dead-letter the events behind it.
   */
  STORE_REJECTED: { retriable: false },
  /** The local stack could not install or start a service. */
  STACK_FAILED: { retriable: false },
  INTERNAL: { retriable: false },
} as const satisfies Record<string, { retriable: boolean }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** Extra, structured detail (field issues, service names, log paths). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown>; retriable?: boolean } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retriable = options.retriable ?? ErrorCodes[code].retriable;
    this.details = options.details;
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

/** One issue of a validation failure: where it is and what is wrong. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

export class ValidationError extends AppError {
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[], message = 'The request did not pass validation.') {
    super('VALIDATION_FAILED', message, { details: { issues } });
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** Describes any thrown value for a log line without losing the cause chain. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return {
      name: error.name,
      message: error.message,
      ...(isAppError(error) ? { code: error.code, retriable: error.retriable } : {}),
      ...(error.cause === undefined ? {} : { cause: describeError(error.cause) }),
    };
  }
  return { message: String(error) };
}
