// ApiStatusError: a non-2xx API response, decoded from its metav1.Status body the way
// client-go's StatusError is, so callers branch on reason ("NotFound", "Conflict", ...).

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiStatusError extends Error {
  constructor(
    /** HTTP status code (Status.code). */
    readonly code: number,
    /** Status.reason, e.g. "NotFound", "AlreadyExists", "Conflict", "Expired". */
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    /** The Status object as the server sent it, when it sent one. */
    readonly status?: Record<string, any>,
  ) {
    super(message);
    this.name = 'ApiStatusError';
  }
}

/** Upstream's reason for a bare HTTP code, used when the body is not a Status. */
function reasonForCode(code: number): string {
  switch (code) {
    case 400: return 'BadRequest';
    case 401: return 'Unauthorized';
    case 403: return 'Forbidden';
    case 404: return 'NotFound';
    case 405: return 'MethodNotAllowed';
    case 406: return 'NotAcceptable';
    case 409: return 'Conflict';
    case 410: return 'Gone';
    case 413: return 'RequestEntityTooLarge';
    case 415: return 'UnsupportedMediaType';
    case 422: return 'Invalid';
    case 429: return 'TooManyRequests';
    case 500: return 'InternalError';
    case 503: return 'ServiceUnavailable';
    case 504: return 'Timeout';
    default: return 'Unknown';
  }
}

/** Builds the error for a Status object (from a response body or a watch ERROR event). */
export function statusError(status: any, httpCode?: number): ApiStatusError {
  const code = typeof status?.code === 'number' && status.code > 0 ? status.code : (httpCode ?? 500);
  const reason = typeof status?.reason === 'string' && status.reason ? status.reason : reasonForCode(code);
  const message = typeof status?.message === 'string' ? status.message : `the server responded with status ${code}`;
  return new ApiStatusError(code, reason, message, status?.details, status);
}

/** Builds the error for a non-2xx response body that may or may not be a Status. */
export function responseError(code: number, body: Buffer): ApiStatusError {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && parsed.kind === 'Status') return statusError(parsed, code);
  } catch {
    // not JSON: fall through
  }
  const message = text.trim() || `the server responded with status ${code}`;
  return new ApiStatusError(code, reasonForCode(code), message);
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiStatusError && e.reason === 'NotFound';
export const isAlreadyExists = (e: unknown): boolean => e instanceof ApiStatusError && e.reason === 'AlreadyExists';
export const isConflict = (e: unknown): boolean => e instanceof ApiStatusError && e.reason === 'Conflict';
/** 410 Gone / reason Expired: the resourceVersion (or continue token) left the server's window. */
export const isExpired = (e: unknown): boolean =>
  e instanceof ApiStatusError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');
