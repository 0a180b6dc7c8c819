/**
 * The error catalogue: every failure a caller can see has a stable code and an HTTP status.
 * Services throw these; one handler (src/http/error-handler.ts) turns them into responses.
 * Messages are written for the caller: they name the field and what was expected, and never
 * carry file paths, stack traces or internals.
 */
export const ERROR_STATUS = {
  INVALID_INPUT: 400,
  MALFORMED_BODY: 400,
  /** No credentials, or credentials that are not valid (the response says how to authenticate). */
  UNAUTHENTICATED: 401,
  /** The credential is valid but lacks the scope or space role the action needs. */
  INSUFFICIENT_SCOPE: 403,
  /** Refused whatever the scope: a browser request without its session's CSRF token. */
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  /** The path exists but takes other methods (the answer's Allow header lists them). */
  METHOD_NOT_ALLOWED: 405,
  /** The request body did not arrive within PLINTH_REQUEST_TIMEOUT_MS; the connection is closed. */
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  /** If-Match named a revision (ETag) the resource no longer has. */
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  LOAD_FAILED: 422,
  /** The model's outputs (or a tensor on the way) for this input would need more memory than there is. */
  OUTPUT_TOO_LARGE: 422,
  /** Too many attempts from this address or for this client or user (POST /login, POST /oauth/token); Retry-After says when to retry. */
  RATE_LIMITED: 429,
  /** The model's queue is full (its max_queue_size): shed at once rather than waited on; Retry-After says when to retry. */
  OVERLOADED: 429,
  MODEL_UNAVAILABLE: 503,
  /** Waited in the model's queue longer than its queue timeout without starting; Retry-After says when to retry. */
  QUEUE_TIMEOUT: 503,
  /** The request's deadline (PLINTH_REQUEST_TIMEOUT_MS, or a shorter one it asked for) passed before its answer was ready. */
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
  /** The caller disconnected while its request waited: nothing is sent, the access log records 499 (nginx's convention). */
  CLIENT_CLOSED: 499,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class PlinthError extends Error {
  readonly status: number;
  /** Response headers the error requires, such as an authentication challenge (WWW-Authenticate). */
  constructor(readonly code: ErrorCode, message: string, readonly headers?: Readonly<Record<string, string>>) {
    super(message);
    this.name = 'PlinthError';
    this.status = ERROR_STATUS[code];
  }
}

export const invalidInput = (message: string) => new PlinthError('INVALID_INPUT', message);

export const modelNotFound = (name: string) =>
  new PlinthError('MODEL_NOT_FOUND', `model '${printable(name)}' does not exist`);

export const versionNotFound = (name: string, version: string) =>
  new PlinthError('VERSION_NOT_FOUND', `model '${printable(name)}' has no version '${printable(version)}'`);

/** The request's deadline passed before `what` answered (a run in progress is abandoned: its result is dropped). */
export const deadlineExceeded = (what: string) =>
  new PlinthError('DEADLINE_EXCEEDED', `${what} did not answer within the request's deadline (PLINTH_REQUEST_TIMEOUT_MS); the run was abandoned`);

export const modelUnavailable = (name: string, version: string, reason: string) =>
  new PlinthError('MODEL_UNAVAILABLE', `model '${printable(name)}' version ${version} is unavailable: ${reason}`);

/**
 * Why a model could not load, safe to show: the first line of the error (ORT's reason), with
 * absolute paths and file:// URLs replaced by <path>, clipped. One scrubber for every load path.
 */
export function loadFailureReason(err: unknown, max = 300): string {
  const message = err instanceof Error ? err.message : String(err);
  const firstLine = message.trim().split('\n')[0]!;
  const scrubbed = firstLine
    .replace(/file:\/\/\S+/g, '<path>')
    .replace(/(?:[A-Za-z]:)?(?:[\\/][^\s'"`,;:()[\]{}<>\\/]+){2,}[\\/]?/g, '<path>');
  return printable(scrubbed || 'the model could not be loaded', max);
}

/** A caller's value as an error message shows it: its kind, and short values themselves. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string "${printable(value, 40)}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value).slice(0, 20)}`;
}

/** Echo caller-supplied identifiers safely: bounded length, control characters escaped. */
export function printable(value: string, max = 80): string {
  const clipped = value.length > max ? `${value.slice(0, max)}...` : value;
  // eslint-disable-next-line no-control-regex
  return clipped.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
