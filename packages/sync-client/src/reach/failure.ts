/**
 * A request the agent cannot answer, with the stable code the server maps to
 * the phone's error (protocol requests.ts REQUEST_ERRORS, docs/reach.md).
 */
import { TwinboxError, type RequestError, type RequestErrorCode } from '@twinbox/protocol';

export class RequestFailure extends Error {
  constructor(
    readonly code: RequestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestFailure';
  }
}

/** Any error of a handler as the response's error: an IMAP failure is IMAP, a lost connection UNAVAILABLE. */
export function requestErrorOf(err: unknown): RequestError {
  if (err instanceof RequestFailure) return { code: err.code, message: err.message.slice(0, 1000) };
  const message = ((err as Error)?.message ?? String(err)).slice(0, 1000);
  if (err instanceof TwinboxError && err.code === 'IMAP') return { code: 'IMAP', message };
  // imapflow: a command the server answered NO or BAD carries its response text.
  if ((err as { serverResponseCode?: unknown; responseStatus?: unknown })?.responseStatus !== undefined) return { code: 'IMAP', message };
  return { code: 'UNAVAILABLE', message };
}
