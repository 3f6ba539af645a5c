/**
 * The phone side's one error class (issue 18): everything the phone API, the
 * phone mailbox and "sync now" refuse is a `PhoneError` with a code from
 * PHONE_ERRORS, the one `as const` map that says, for each code, the HTTP
 * status the phone sees, whether sending the request again later can help,
 * and whether the answer is remembered under an Idempotency-Key (README
 * "The phone's API"). The sync side's counterpart is `TwinboxError`
 * (protocol/errors.ts); the codes are stable and listed in the README.
 *
 * `remembered`: an answer with this code means the request did its work (or
 * part of it that cannot be undone: a send the relay refused waits in the
 * Outbox marked failed), so a request sent again with the same key gets this
 * answer, not a second run. Every other error changed nothing, and its key is
 * released: sent again, the request runs again.
 */
export const PHONE_ERRORS = {
  BAD_REQUEST: { status: 400, retryable: false, remembered: false, text: 'the request is not one this API understands' },
  UNAUTHORIZED: { status: 401, retryable: false, remembered: false, text: 'sign in again: a valid device session or token is required (Authorization: Bearer …)' },
  FORBIDDEN: { status: 403, retryable: false, remembered: false, text: 'a request made with the session cookie must carry X-Twinbox-Request: 1' },
  WRONG_ACCOUNT: { status: 409, retryable: false, remembered: false, text: 'these credentials belong to another account or device than the request names' },
  NOT_FOUND: { status: 404, retryable: false, remembered: false, text: 'no such thing' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, remembered: false, text: 'method not allowed here' },
  WRONG_FOLDER: { status: 409, retryable: false, remembered: false, text: 'the message is not in a folder where this can be done' },
  NO_RELAY: { status: 409, retryable: false, remembered: false, text: 'this server has no way to send that mail' },
  IN_PROGRESS: { status: 409, retryable: true, remembered: false, text: 'a request with this Idempotency-Key is still running; send it again shortly for its answer' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, remembered: false, text: 'the request body is too large' },
  RATE_LIMITED: { status: 429, retryable: true, remembered: false, text: 'too many failed logins from your address; try again in a minute' },
  INTERNAL: { status: 500, retryable: true, remembered: false, text: 'internal error' },
  PUSH_ENDPOINT_REFUSED: { status: 400, retryable: false, remembered: false, text: 'this push endpoint is refused: push services are https: URLs on the public internet' },
  PUSH_UNAVAILABLE: { status: 409, retryable: false, remembered: false, text: 'this server does not send push notifications (its operator has not set push.subject)' },
  SEND_FAILED: { status: 502, retryable: true, remembered: true, text: 'the mail server refused the message' },
  // Requests to the desktop agent (docs/reach.md).
  DESKTOP_OFFLINE: { status: 503, retryable: true, remembered: false, text: 'the desktop agent is not connected; what lies outside the window cannot be reached now' },
  TIMEOUT: { status: 504, retryable: true, remembered: false, text: 'the desktop agent did not answer in time' },
  DESKTOP_REFUSED: { status: 502, retryable: true, remembered: false, text: 'the desktop mail server refused it' },
  DESKTOP_BUSY: { status: 503, retryable: true, remembered: false, text: 'the desktop agent is answering as many requests as it takes; try again shortly' },
  DESKTOP_OUTDATED: { status: 502, retryable: false, remembered: false, text: 'the desktop agent is too old to answer requests: update twinbox-agent on the desktop' },
} as const;

export type PhoneErrorCode = keyof typeof PHONE_ERRORS;

export class PhoneError extends Error {
  readonly code: PhoneErrorCode;
  /** The HTTP status the phone sees. */
  readonly status: number;
  /** May the same request succeed later (a new try of the send, the end of a running request)? */
  readonly retryable: boolean;

  constructor(code: PhoneErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? PHONE_ERRORS[code].text, options);
    this.name = 'PhoneError';
    this.code = code;
    this.status = PHONE_ERRORS[code].status;
    this.retryable = PHONE_ERRORS[code].retryable;
  }

  /** Is an answer with this error kept for a repeated Idempotency-Key (see the header)? */
  get remembered(): boolean {
    return PHONE_ERRORS[this.code].remembered;
  }

  /** Any error as the phone sees it: a PhoneError as it is, anything else INTERNAL (with the error as its cause). */
  static of(err: unknown): PhoneError {
    return err instanceof PhoneError ? err : new PhoneError('INTERNAL', undefined, { cause: err });
  }
}
