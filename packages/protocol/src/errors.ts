/**
 * Error codes of the sync protocol: one `as const` map (the tRPC `codes.ts`
 * idea). Each code says whether retrying the same session later can succeed
 * and which WebSocket close code carries it when it ends the connection.
 * The codes are stable: they are part of the protocol and listed in the README.
 */
export const ERROR_CODES = {
  BAD_FRAME: { retryable: false, closeCode: 4400, text: 'malformed frame' },
  FRAME_TOO_LARGE: { retryable: false, closeCode: 1009, text: 'frame larger than the limit' },
  UNKNOWN_TYPE: { retryable: false, closeCode: 4401, text: 'unknown message type' },
  VERSION_MISMATCH: { retryable: false, closeCode: 4402, text: 'protocol version not supported' },
  AUTH_FAILED: { retryable: false, closeCode: 4403, text: 'bad account or token' },
  OUT_OF_ORDER: { retryable: false, closeCode: 4404, text: 'message not allowed in this state of the session' },
  BUSY: { retryable: true, closeCode: 4409, text: 'another session of this account is running' },
  RATE_LIMITED: { retryable: true, closeCode: 4429, text: 'too many failed logins; try again later' },
  TIMEOUT: { retryable: true, closeCode: 4408, text: 'peer too slow' },
  CERT_MISMATCH: { retryable: false, closeCode: 4495, text: "the server's key is not a pinned one" },
  INTERNAL: { retryable: true, closeCode: 4500, text: 'internal error' },
  CONNECTION_LOST: { retryable: true, closeCode: 1006, text: 'connection lost' },
  IMAP: { retryable: true, closeCode: 4502, text: 'desktop IMAP server error' },
  IMAP_AUTH: { retryable: false, closeCode: 4511, text: 'the desktop IMAP server refused the login' },
  IMAP_TLS: { retryable: false, closeCode: 4512, text: 'TLS with the desktop IMAP server does not match its port or offer' },
  IMAP_CERT: { retryable: false, closeCode: 4513, text: "the desktop IMAP server's certificate is not trusted" },
  IMAP_UNREACHABLE: { retryable: true, closeCode: 4514, text: 'the desktop IMAP server cannot be reached' },
  CONFIG: { retryable: false, closeCode: 4503, text: 'bad configuration' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The close code a WebSocket peer sees for `code`. */
export function closeCodeOf(code: ErrorCode): number {
  return ERROR_CODES[code].closeCode;
}

/** The error code that a WebSocket close code stands for, if it is one of ours. */
export function errorCodeOfClose(closeCode: number): ErrorCode | undefined {
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    if (info.closeCode === closeCode) return code as ErrorCode;
  }
  return undefined;
}

/** The one error class of Twinbox: a stable code, whether a retry may help, and the cause. */
export class TwinboxError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].text, options);
    this.name = 'TwinboxError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
  }
}
